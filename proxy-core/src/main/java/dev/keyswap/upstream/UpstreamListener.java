package dev.keyswap.upstream;

/** What an upstream connection reports to the exchange that leases it, on its event loop. */
public interface UpstreamListener {
    void onUpstreamMessage(Object msg);

    void onUpstreamReadComplete();

    void onUpstreamWritabilityChanged();

    void onUpstreamIdle();

    /** The deadline set with {@link UpstreamConnector#expectResponseWithin} passed. */
    void onResponseDeadline();

    void onUpstreamFailure(Throwable cause);

    void onUpstreamClosed();
}
