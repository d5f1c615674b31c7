package dev.keyswap.pipeline;

import dev.keyswap.connect.KeyPool;
import dev.keyswap.upstream.UpstreamConnector;
import dev.keyswap.usage.UsageExtractor;
import dev.keyswap.usage.UsageLog;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step of an accepted request: relays it to the upstream and the response back, one
 * {@link Exchange} at a time per client connection. Body content of the current exchange goes to
 * it; content of a request answered earlier in the pipeline passes on to the tail.
 */
public final class RelayHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(RelayHandler.class);
    final UpstreamConnector connector;
    final UsageLog usageLog;
    final RelayMetrics metrics;
    final long responseHeaderTimeoutMillis;
    final KeyPool keyPool;
    private Exchange exchange;
    /** The name of the encoder of Keyswap's own responses in the client's pipeline. */
    public static final String ENCODER = "encoder";
    /**
     * Writes bytes already in HTTP/1.1 form (a relayed response's head and body): the context of
     * the encoder, so that they go out below it. Null when there is none (tests of the handler
     * alone).
     */
    ChannelHandlerContext belowEncoder;
    /** This connection's usage extractors, one response after another. */
    final UsageExtractor.PerConnection extractors = new UsageExtractor.PerConnection();
    /** Reads this connection's upstream responses, one after another. */
    final UpstreamResponseReader responses;

    public RelayHandler(UpstreamConnector connector, UsageLog usageLog, RelayMetrics metrics, KeyPool keyPool,
                        Duration responseHeaderTimeout) {
        this.keyPool = keyPool;
        this.connector = connector;
        this.usageLog = usageLog;
        this.metrics = metrics;
        this.responseHeaderTimeoutMillis = responseHeaderTimeout.toMillis();
        this.responses = new UpstreamResponseReader(connector.maxResponseHeaderBytes());
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        belowEncoder = ctx.pipeline().context(ENCODER);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            exchange = new Exchange(this, ctx, request);
            exchange.start();
        } else if (msg instanceof RequestBody body && exchange != null && exchange.takesClientContent()) {
            exchange.onClientBody(body);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.onClientReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.onClientWritabilityChanged();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.onClientClosed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof RequestReader.BodyTooLarge tooLarge) {
            // With no exchange the request was answered already (early, by the upstream or a
            // step) and the connection is closing after that answer: closing it here would
            // throw away the answer still being written.
            if (exchange != null) {
                exchange.onClientBodyTooLarge(tooLarge.error());
            }
            return;
        }
        if (evt instanceof IdleStateEvent) {
            if (exchange == null) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("client connection error: {}", cause.toString());
        } else {
            log.warn("client connection error", cause);
        }
        ctx.close();
    }

    void finished(Exchange e) {
        if (exchange == e) {
            exchange = null;
        }
    }
}
