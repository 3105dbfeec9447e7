"""TLS for client connections, with Python's ``ssl`` module and redis-server's settings.

``tls-port`` opens a second listener speaking TLS; ``tls-cert-file`` and
``tls-key-file`` name the server's certificate; ``tls-ca-cert-file`` (or
``tls-ca-cert-dir``) the authorities that sign client certificates;
``tls-auth-clients`` says whether clients must present one (``yes``), may
(``optional``) or need not (``no``); ``tls-protocols`` limits the versions
("TLSv1.2 TLSv1.3").
"""

from __future__ import annotations

import ssl

from server.config import Config, ConfigError

_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}


def server_context(config: Config) -> ssl.SSLContext:
    """An SSLContext for the TLS listener, or ConfigError naming what is missing or wrong."""
    cert, key = config.get_str("tls-cert-file"), config.get_str("tls-key-file")
    if not cert or not key:
        raise ConfigError("tls-port is set but tls-cert-file or tls-key-file is missing")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    password = config.get_str("tls-key-file-pass") or None
    try:
        context.load_cert_chain(cert, key, password=password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"Failed to load certificate: {cert}: {exc}") from None
    cafile, capath = config.get_str("tls-ca-cert-file") or None, config.get_str("tls-ca-cert-dir") or None
    if cafile or capath:
        try:
            context.load_verify_locations(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"Failed to configure CA certificate(s) file/directory: {exc}") from None
    mode = config["tls-auth-clients"]
    if mode == "yes":
        if not (cafile or capath):
            raise ConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is yes")
        context.verify_mode = ssl.CERT_REQUIRED
    elif mode == "optional":
        context.verify_mode = ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    protocols = str(config["tls-protocols"]).lower().split()
    if protocols:
        try:
            versions = sorted(_VERSIONS[p] for p in protocols)
        except KeyError as exc:
            raise ConfigError(f"Invalid tls-protocols specified: {exc.args[0]}") from None
        context.minimum_version = versions[0]
        context.maximum_version = versions[-1]
    ciphers = config.get_str("tls-ciphers")
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def bus_context(config: Config) -> ssl.SSLContext:
    """The cluster bus listener's (``tls-cluster``): the client listener's settings, but a node
    dialling in must always present a certificate the CA signed, whatever tls-auth-clients says,
    as Redis accepts bus links."""
    context = server_context(config)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(config: Config) -> ssl.SSLContext:
    """An SSLContext for our own outgoing links (``tls-replication``: a replica dialling its master;
    ``tls-cluster``: bus links and MIGRATE).

    As Redis: the peer's certificate must be signed by ``tls-ca-cert-file``/``-dir`` (its name is
    not checked), and we present ``tls-client-cert-file`` (or else ``tls-cert-file``) when set.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    cafile, capath = config.get_str("tls-ca-cert-file") or None, config.get_str("tls-ca-cert-dir") or None
    try:
        if cafile or capath:
            context.load_verify_locations(cafile=cafile, capath=capath)
        else:
            context.load_default_certs()
        cert = config.get_str("tls-client-cert-file") or config.get_str("tls-cert-file")
        key = config.get_str("tls-client-key-file") or config.get_str("tls-key-file")
        password = config.get_str("tls-client-key-file-pass") or config.get_str("tls-key-file-pass") or None
        if cert and key:
            context.load_cert_chain(cert, key, password=password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"Failed to configure the TLS client context: {exc}") from None
    protocols = str(config["tls-protocols"]).lower().split()
    if protocols:
        versions = sorted(_VERSIONS[p] for p in protocols if p in _VERSIONS)
        if versions:
            context.minimum_version = versions[0]
            context.maximum_version = versions[-1]
    return context
