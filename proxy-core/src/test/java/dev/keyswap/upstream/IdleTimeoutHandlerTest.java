package dev.keyswap.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The idle timer on the event loop's own (here frozen) clock: only reads and flushes count as traffic;
 * and with an {@link OffLoopTimer}, the same timer kept off the loop, firing on it.
 */
class IdleTimeoutHandlerTest {
    private final List<Object> events = new ArrayList<>();
    private EmbeddedChannel channel;
    private IdleTimeoutHandler idle;

    @BeforeEach
    void open() {
        channel = new EmbeddedChannel();
        channel.freezeTime();
        idle = new IdleTimeoutHandler(1000);
        channel.pipeline().addLast(idle, new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                events.add(evt);
            }
        });
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private void advanceMillis(long ms) {
        channel.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void firesOnceATimeoutPassesWithoutTrafficAndAgainAfterTheNext() {
        advanceMillis(999);
        assertTrue(events.isEmpty());
        advanceMillis(1);
        assertEquals(List.of(IdleStateEvent.ALL_IDLE_STATE_EVENT), events);
        advanceMillis(999);
        assertEquals(1, events.size());
        advanceMillis(1);
        assertEquals(2, events.size());
    }

    @Test
    void aFinishedReadBatchPostponesIt() {
        advanceMillis(600);
        channel.pipeline().fireChannelReadComplete();
        advanceMillis(600);
        assertTrue(events.isEmpty(), "600 ms since the read");
        advanceMillis(400);
        assertEquals(1, events.size());
    }

    @Test
    void aFlushPostponesItButAnUnflushedWriteDoesNot() {
        advanceMillis(600);
        channel.flush();
        advanceMillis(600);
        assertTrue(events.isEmpty(), "600 ms since the flush");
        channel.write("not flushed");
        advanceMillis(400);
        assertEquals(1, events.size());
    }

    @Test
    void removingTheHandlerStopsTheTimer() {
        channel.pipeline().remove(idle);
        advanceMillis(10_000);
        assertTrue(events.isEmpty());
        assertFalse(channel.hasPendingTasks());
    }

    @Test
    void aDeadlineBeforeTheNextIdleCheckFiresOnTime() {
        idle.deadlineIn(TimeUnit.MILLISECONDS.toNanos(300));
        advanceMillis(299);
        assertTrue(events.isEmpty());
        advanceMillis(1);
        assertEquals(List.of(IdleTimeoutHandler.DEADLINE_PASSED), events);
        advanceMillis(700);
        assertEquals(List.of(IdleTimeoutHandler.DEADLINE_PASSED, IdleStateEvent.ALL_IDLE_STATE_EVENT), events,
                "the idle timer still runs on its own schedule");
    }

    @Test
    void aDeadlineAfterTheNextIdleCheckSurvivesTrafficAndFiresOnce() {
        advanceMillis(500);
        channel.pipeline().fireChannelReadComplete();
        idle.deadlineIn(TimeUnit.MILLISECONDS.toNanos(2500)); // due at 3000 ms
        for (int t = 0; t < 4; t++) {
            advanceMillis(500);
            channel.pipeline().fireChannelReadComplete(); // traffic keeps the idle timer quiet
        }
        assertTrue(events.isEmpty(), "2500 ms in, 3000 due");
        advanceMillis(500);
        assertEquals(List.of(IdleTimeoutHandler.DEADLINE_PASSED), events);
        channel.pipeline().fireChannelReadComplete();
        advanceMillis(900);
        assertEquals(1, events.size(), "fired once");
    }

    @Test
    void aClearedDeadlineNeverFires() {
        idle.deadlineIn(TimeUnit.MILLISECONDS.toNanos(300));
        advanceMillis(100);
        idle.clearDeadline();
        channel.pipeline().fireChannelReadComplete();
        advanceMillis(999);
        assertTrue(events.isEmpty());
    }

    @Test
    void aDeadlineWorksWithoutAnIdleTimeout() {
        channel.pipeline().remove(idle);
        IdleTimeoutHandler deadlineOnly = new IdleTimeoutHandler(0);
        channel.pipeline().addFirst(deadlineOnly);
        advanceMillis(10_000);
        assertTrue(events.isEmpty(), "no idle timeout");
        assertFalse(channel.hasPendingTasks(), "and no timer without a deadline");
        deadlineOnly.deadlineIn(TimeUnit.SECONDS.toNanos(5));
        advanceMillis(5_000);
        assertEquals(List.of(IdleTimeoutHandler.DEADLINE_PASSED), events);
        assertFalse(channel.hasPendingTasks());
    }

    @Test
    void offTheLoopTheEventLoopHasNoTaskScheduled() {
        assertTrue(channel.runScheduledPendingTasks() >= 0, "on the loop, the check is the loop's scheduled task");
        try (OffLoopTimer timer = new OffLoopTimer()) {
            EmbeddedChannel offLoop = new EmbeddedChannel(new IdleTimeoutHandler(60_000, timer));
            try {
                offLoop.flush();
                offLoop.pipeline().get(IdleTimeoutHandler.class).deadlineIn(TimeUnit.SECONDS.toNanos(30));
                // -1: nothing scheduled, so a Netty loop would wait for I/O with no timeout entry.
                assertEquals(-1, offLoop.runScheduledPendingTasks());
            } finally {
                offLoop.finishAndReleaseAll();
            }
        }
    }

    @Test
    void offTheLoopTimeoutsAndDeadlinesFireOnTheLoop() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        try (OffLoopTimer timer = new OffLoopTimer()) {
            LocalAddress address = new LocalAddress("idle-test-" + System.nanoTime());
            Channel server = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter()).bind(address).sync().channel();
            BlockingQueue<Object> fired = new LinkedBlockingQueue<>();
            AtomicReference<IdleTimeoutHandler> handler = new AtomicReference<>();
            Channel client = new Bootstrap().group(group).channel(LocalChannel.class).handler(new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    handler.set(new IdleTimeoutHandler(200, timer));
                    ch.pipeline().addLast(handler.get(), new ChannelInboundHandlerAdapter() {
                        @Override
                        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            fired.add(ctx.executor().inEventLoop() ? evt : "off the loop: " + evt);
                        }
                    });
                }
            }).connect(address).sync().channel();
            try {
                long start = System.nanoTime();
                assertEquals(IdleStateEvent.ALL_IDLE_STATE_EVENT, fired.poll(5, TimeUnit.SECONDS));
                assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(150), "not before the timeout");

                client.eventLoop().submit(() -> handler.get().deadlineIn(TimeUnit.MILLISECONDS.toNanos(50))).sync();
                assertEquals(IdleTimeoutHandler.DEADLINE_PASSED, fired.poll(5, TimeUnit.SECONDS));

                // A deadline moved earlier cancels the check already waiting; only the current one fires.
                client.eventLoop().submit(() -> {
                    handler.get().deadlineIn(TimeUnit.SECONDS.toNanos(30));
                    handler.get().deadlineIn(TimeUnit.MILLISECONDS.toNanos(50));
                }).sync();
                assertEquals(IdleTimeoutHandler.DEADLINE_PASSED, fired.poll(5, TimeUnit.SECONDS));
                Object next = fired.poll(5, TimeUnit.SECONDS);
                assertEquals(IdleStateEvent.ALL_IDLE_STATE_EVENT, next, "then only the idle timeout again");
            } finally {
                client.close().sync();
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
