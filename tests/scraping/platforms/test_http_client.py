import ssl

from scraping.platforms.http import http_client, tls_context


def test_every_client_shares_one_tls_context_that_verifies_certificates():
    # A context per client would parse the CA bundle again for every platform run.
    clients = [http_client(), http_client(headers={"X-Goog-Api-Key": "key"})]
    try:
        assert {id(client._transport._pool._ssl_context) for client in clients} == {id(tls_context())}
    finally:
        for client in clients:
            client.close()
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) > 50  # certifi's bundle, not an empty trust store


def test_a_caller_may_still_bring_its_own_verification():
    with http_client(verify=False) as client:
        assert client._transport._pool._ssl_context is not tls_context()
