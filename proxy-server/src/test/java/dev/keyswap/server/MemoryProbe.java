package dev.keyswap.server;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/**
 * Samples, in the background, the JVM's direct buffer memory and its heap after collection, so a
 * test can assert a transfer's memory stays bounded however large the body. Everything else in
 * the test JVM (clients, mocks) streams too, so growth here is the proxy's buffering.
 */
final class MemoryProbe implements AutoCloseable {
    private static final long MB = 1024 * 1024;
    private final BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
            .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final long directBaseline;
    private final long heapBaseline;
    private volatile long maxDirect;
    private volatile long maxHeap;
    private final Thread sampler;
    private volatile boolean running = true;

    MemoryProbe() {
        System.gc();
        directBaseline = direct.getMemoryUsed();
        heapBaseline = memory.getHeapMemoryUsage().getUsed();
        sampler = new Thread(() -> {
            int n = 0;
            while (running) {
                maxDirect = Math.max(maxDirect, direct.getMemoryUsed());
                if (++n % 25 == 0) {
                    System.gc();
                    maxHeap = Math.max(maxHeap, memory.getHeapMemoryUsage().getUsed());
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-probe");
        sampler.setDaemon(true);
        sampler.start();
    }

    long directGrowthMb() {
        return Math.max(0, maxDirect - directBaseline) / MB;
    }

    long heapGrowthMb() {
        return Math.max(0, maxHeap - heapBaseline) / MB;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        sampler.join();
    }

    @Override
    public String toString() {
        return "direct +" + directGrowthMb() + " MB, heap after GC +" + heapGrowthMb() + " MB";
    }
}
