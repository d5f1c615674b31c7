package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A thousand WebSockets held open at once through one Keyswap, each echoing, none failing. */
class WebSocketConcurrencyTest {
    static final int SOCKETS = 1000;
    @TempDir
    Path dir;

    @Test
    void thousandConcurrentSocketsAreHeldWithoutError() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try (WebSocketUpstream upstream = new WebSocketUpstream();
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge(
                     // One token holds all of them here; the per-token cap is tested in InboundTlsTest.
                     "websocket:\n  max_per_token: " + (SOCKETS + 10) + "\n",
                     TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()), TestKeyswap.map("openai", "sk-test-many"))))) {
            String token = keyswap.token();
            CountDownLatch echoed = new CountDownLatch(SOCKETS);
            AtomicInteger wrongEchoes = new AtomicInteger();
            AtomicInteger failures = new AtomicInteger();
            URI uri = URI.create("ws://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime");
            List<Channel> channels = new ArrayList<>(SOCKETS);
            for (int i = 0; i < SOCKETS; i++) {
                String expected = "hello-" + i;
                Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .handler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                                        new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder()
                                                .webSocketUri(uri)
                                                .customHeaders(new DefaultHttpHeaders().set("Authorization", "Bearer " + token))
                                                .handshakeTimeoutMillis(30_000)
                                                .build()),
                                        new SimpleChannelInboundHandler<TextWebSocketFrame>() {
                                            @Override
                                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                                if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                                                    ctx.writeAndFlush(new TextWebSocketFrame(expected));
                                                }
                                                ctx.fireUserEventTriggered(evt);
                                            }

                                            @Override
                                            protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
                                                if (!frame.text().equals(expected)) {
                                                    wrongEchoes.incrementAndGet();
                                                }
                                                echoed.countDown();
                                            }

                                            @Override
                                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                                failures.incrementAndGet();
                                                ctx.close();
                                            }
                                        });
                            }
                        }).connect(uri.getHost(), uri.getPort()).sync().channel();
                channels.add(ch);
            }
            assertTrue(echoed.await(60, TimeUnit.SECONDS), (SOCKETS - echoed.getCount()) + " of " + SOCKETS + " echoed");
            assertEquals(0, wrongEchoes.get());
            assertEquals(0, failures.get());
            assertEquals(SOCKETS, keyswap.keyswap.proxy().relayMetrics().webSockets(), "all sockets open at once");
            for (Channel ch : channels) {
                ch.close();
            }
            assertEquals(0, keyswap.awaitRelay(r -> r.webSockets() == 0, 20).webSockets(), "every splice ends when its client goes");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
