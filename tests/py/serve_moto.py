"""Runs a moto server (S3 and CloudWatch Logs APIs) on a free loopback port
for the tests: prints the port, then serves until its stdin closes, which
happens when the test process exits, however it exits.
"""
import socket
import sys

from moto.server import ThreadedMotoServer


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
