"""Fetches the bootstrap through the scwsemu fixture, as a DM client would."""
import ssl
import urllib.request


def fetch(url, ca, devid="IMEI:493005100592800"):
    boundary = "scwsemu-example"
    body = ("--%s\r\nContent-Disposition: form-data; name=\"devid\"\r\n\r\n%s\r\n--%s--\r\n"
            % (boundary, devid, boundary)).encode()
    req = urllib.request.Request(
        url, data=body,
        headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    ctx = ssl.create_default_context(cafile=ca) if url.startswith("https:") else None
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type"), resp.read()


def test_bip_https(scwsemu):
    status, ctype, body = fetch(scwsemu.url("bip", "https"), scwsemu.ca)
    assert status == 200
    assert ctype == "application/vnd.syncml.dm+wbxml"
    assert body[:1] == b"\x02"  # WBXML 1.2


def test_tcpip_https_same_bootstrap(scwsemu):
    assert fetch(scwsemu.url("tcpip", "https"), scwsemu.ca)[2] == \
        fetch(scwsemu.url("bip", "https"), scwsemu.ca)[2]
