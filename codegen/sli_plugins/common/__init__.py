"""Every plugin of slok/sloth-common-sli-plugins, with its id, options, defaults and validation, returning
byte for byte the query its Go original returns. One module per plugin family."""

from __future__ import annotations

from codegen.sli_plugins.api import SLIPlugin
from codegen.sli_plugins.common import (
    coredns,
    fake,
    haproxy,
    istio_v1,
    kooper,
    kubernetes_apiserver,
    nginx_ingress,
    noop,
    prometheus,
    slok_go_http_metrics,
    traefik,
)

COMMON_PLUGINS: tuple[SLIPlugin, ...] = (
    *coredns.PLUGINS,
    *fake.PLUGINS,
    *haproxy.PLUGINS,
    *istio_v1.PLUGINS,
    *kooper.PLUGINS,
    *kubernetes_apiserver.PLUGINS,
    *nginx_ingress.PLUGINS,
    *noop.PLUGINS,
    *prometheus.PLUGINS,
    *slok_go_http_metrics.PLUGINS,
    *traefik.PLUGINS,
)
