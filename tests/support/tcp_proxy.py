"""A TCP forwarder for tests that need a server to become unreachable mid-transfer: it listens on
a free loopback port (printed on stdout), forwards every connection to the target given as
HOST:PORT, and when killed takes every open connection down with it, while the server behind it
keeps its state for the test to inspect.

  --cut-after BYTES  the first connection to send BYTES towards the server is cut (once); every
                     other connection, and every later one, is forwarded normally, so a client
                     can still clean up after the failure
  --log FILE         appends "uploading N" whenever N connections have each sent more than
                     64 KiB that the server has not answered yet: how many large bodies (S3
                     parts) a client has in flight at once. A connection stops counting before
                     its answer is forwarded, so a client that sends one part after another never
                     counts twice; small requests and TLS alerts do not count at all.
"""
import argparse
import socket
import threading

lock = threading.Lock()
state = {"uploading": 0, "cut_done": False}
LARGE = 64 * 1024


class Conn:
    def __init__(self):
        self.unanswered = 0  # bytes sent upstream since the server last answered
        self.uploading = False


def account(conn, upstream, n, log):
    with lock:
        conn.unanswered = conn.unanswered + n if upstream else 0
        uploading = conn.unanswered > LARGE
        if conn.uploading == uploading:
            return
        conn.uploading = uploading
        state["uploading"] += 1 if uploading else -1
        if uploading and log:
            with open(log, "a") as f:
                f.write(f"uploading {state['uploading']}\n")


def shut(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump(src, dst, conn, upstream, cut_after, log):
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if upstream and cut_after is not None:
                with lock:
                    cut = not state["cut_done"] and sent + len(data) >= cut_after
                    if cut:
                        state["cut_done"] = True
                if cut:
                    break
            account(conn, upstream, len(data), log)
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        shut(src, dst)
        account(conn, False, 0, log)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--cut-after", type=int)
    parser.add_argument("--log")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        conn = Conn()
        threading.Thread(target=pump, args=(client, upstream, conn, True, args.cut_after, args.log),
                         daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, conn, False, None, args.log),
                         daemon=True).start()


main()
