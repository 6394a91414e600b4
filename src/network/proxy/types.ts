// What the IPv6 port proxies (tcp.ts, udp.ts) share.

export interface HostPort {
  host: string;
  port: number;
}

/** One listening socket forwarding to one container address. */
export interface PortProxy {
  /** Open connections (TCP) or client flows (UDP); for leak checks. */
  active(): number;
  /** Stops listening and cuts every connection or flow, as Docker's proxy does when it is stopped. */
  close(): Promise<void>;
}
