package dev.keyswap.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A WebSocket upstream in the shape of OpenAI Realtime: echoes text, binary and continuation
 * frames as they come (fragmentation kept), and obeys a few text commands:
 * {@code close:CODE:REASON} closes with that code, {@code response-done} sends a Realtime
 * {@code response.done} event with usage, {@code fragment} sends a three-frame message,
 * {@code flood:BYTES} streams that many bytes in 64 KiB binary frames with backpressure.
 * Paths containing {@code refuse401} or {@code refuse429} are refused before the upgrade.
 */
final class WebSocketUpstream implements AutoCloseable {
    record Handshake(String uri, HttpHeaders headers, String selectedSubprotocol) {
    }

    /** A close frame as the upstream received it. */
    record Close(int code, String reason) {
    }

    final BlockingQueue<Handshake> handshakes = new LinkedBlockingQueue<>();
    final BlockingQueue<Close> closesReceived = new LinkedBlockingQueue<>();
    private final NettyUpstream server;

    WebSocketUpstream() throws InterruptedException {
        server = new NettyUpstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                ChannelPipeline p = ctx.pipeline();
                p.addAfter(ctx.name(), "agg", new HttpObjectAggregator(65536));
                p.addAfter("agg", "refuse", new Refuser());
                p.addAfter("refuse", "ws", new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                        .websocketPath("/")
                        .checkStartsWith(true)
                        .subprotocols("realtime,openai-beta.realtime-v1")
                        .allowExtensions(true)
                        .maxFramePayloadLength(4 * 1024 * 1024)
                        .handleCloseFrames(false)
                        .build()));
                p.addAfter("ws", "echo", new Echo());
                p.remove(this);
            }
        });
    }

    String baseUrl() {
        return server.baseUrl();
    }

    @Override
    public void close() {
        server.close();
    }

    private final class Refuser extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpRequest req) {
                int status = req.uri().contains("refuse401") ? 401 : req.uri().contains("refuse429") ? 429 : 0;
                if (status != 0) {
                    ByteBuf body = Unpooled.copiedBuffer("{\"error\":{\"message\":\"refused " + status + "\"}}", StandardCharsets.UTF_8);
                    var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), body);
                    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                            .set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                    req.release();
                    ctx.writeAndFlush(r);
                    return;
                }
            }
            ctx.fireChannelRead(msg);
        }
    }

    private final class Echo extends ChannelInboundHandlerAdapter {
        private long floodLeft;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete hc) {
                handshakes.add(new Handshake(hc.requestUri(), hc.requestHeaders(), hc.selectedSubprotocol()));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof CloseWebSocketFrame close) {
                closesReceived.add(new Close(close.statusCode(), close.reasonText()));
                ctx.writeAndFlush(new CloseWebSocketFrame(close.statusCode(), close.reasonText()))
                        .addListener(f -> ctx.close());
                close.release();
                return;
            }
            if (msg instanceof TextWebSocketFrame text && text.isFinalFragment()) {
                String t = text.text();
                if (t.startsWith("close:")) {
                    String[] parts = t.split(":", 3);
                    text.release();
                    ctx.writeAndFlush(new CloseWebSocketFrame(Integer.parseInt(parts[1]), parts[2]));
                    return;
                }
                if (t.equals("response-done")) {
                    text.release();
                    ctx.writeAndFlush(new TextWebSocketFrame("{\"type\":\"response.done\",\"event_id\":\"e1\",\"response\":{"
                            + "\"id\":\"r1\",\"status\":\"completed\",\"usage\":{\"total_tokens\":42,\"input_tokens\":30,\"output_tokens\":12}}}"));
                    return;
                }
                if (t.equals("fragment")) {
                    text.release();
                    ctx.write(new TextWebSocketFrame(false, 0, "frag-one "));
                    ctx.write(new ContinuationWebSocketFrame(false, 0, "frag-two "));
                    ctx.writeAndFlush(new ContinuationWebSocketFrame(true, 0, "frag-three"));
                    return;
                }
                if (t.startsWith("flood:")) {
                    floodLeft = Long.parseLong(t.substring(6));
                    text.release();
                    pump(ctx);
                    return;
                }
            }
            if (msg instanceof WebSocketFrame frame) {
                ctx.writeAndFlush(frame);
                return;
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        private void pump(ChannelHandlerContext ctx) {
            while (floodLeft > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(65536, floodLeft);
                floodLeft -= n;
                ByteBuf b = ctx.alloc().heapBuffer(n);
                b.writeZero(n);
                ctx.writeAndFlush(new BinaryWebSocketFrame(b));
            }
        }
    }
}
