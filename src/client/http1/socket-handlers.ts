import type { SocketHandler } from "bun";
import type { Conn } from "./connection.ts";

/** Shared by every socket: per-connection state lives in `socket.data`, so nothing is built per connection here. */
export const TCP_HANDLERS: SocketHandler<Conn> = {
  open(s) {
    s.data.onOpen(s, false);
  },
  data(s, d) {
    s.data.onData(d);
  },
  drain(s) {
    s.data.onDrain();
  },
  end(s) {
    s.data.onEnd();
  },
  close(s, err) {
    s.data.onEnd(err);
  },
  error(s, err) {
    s.data.onError(err);
  },
  connectError(s, err) {
    s.data.onConnectError(err);
  },
};

/** With a handshake handler, so the request waits for certificate verification. */
export const TLS_HANDLERS: SocketHandler<Conn> = {
  ...TCP_HANDLERS,
  open(s) {
    s.data.onOpen(s, true);
  },
  handshake(s, success, authorizationError) {
    s.data.onHandshake(success, authorizationError);
  },
};
