package dev.keyswap.bench.load;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CPU time and resident memory of a process and all its descendants (nginx's workers are children
 * of its master), read from {@code /proc}. CPU is utime+stime in clock ticks of each live process;
 * children are all long-lived here, so nothing is lost to reaping during a run.
 */
final class ProcessTree {
    static final long CLK_TCK = clockTicks();
    private final long root;

    ProcessTree(long root) {
        this.root = root;
    }

    long pid() {
        return root;
    }

    /** utime+stime of the tree, in microseconds. */
    long cpuMicros() {
        long ticks = 0;
        for (long p : members()) {
            String[] f = stat(p);
            if (f != null) {
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
        }
        return ticks * 1_000_000L / CLK_TCK;
    }

    /**
     * utime+stime of the tree's JIT compiler threads (HotSpot's "C1/C2 CompilerThreadN", cut to
     * 15 characters in /proc), in microseconds; 0 for a process that compiles nothing (nginx). A
     * JVM's CPU per request holds its compiling too, and this says how much of it that was.
     */
    long jitCpuMicros() {
        long ticks = 0;
        for (long p : members()) {
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(p), "task"))) {
                for (Path task : tasks) {
                    String comm = Files.readString(task.resolve("comm")).trim();
                    String[] f = comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")
                            ? stat(task.resolve("stat")) : null;
                    if (f != null) {
                        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the process or thread went away between listing and reading
            }
        }
        return ticks * 1_000_000L / CLK_TCK;
    }

    /** Sum of VmRSS over the tree, in KiB. */
    long rssKib() {
        long kib = 0;
        for (long p : members()) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the process went away between listing and reading
            }
        }
        return kib;
    }

    List<Long> members() {
        List<Long> out = new ArrayList<>();
        out.add(root);
        List<long[]> all = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : ds) {
                long pid = Long.parseLong(p.getFileName().toString());
                String[] f = stat(pid);
                if (f != null) {
                    all.add(new long[]{pid, Long.parseLong(f[1])});
                }
            }
        } catch (IOException e) {
            return out;
        }
        for (int i = 0; i < out.size(); i++) {
            long parent = out.get(i);
            for (long[] pp : all) {
                if (pp[1] == parent && !out.contains(pp[0])) {
                    out.add(pp[0]);
                }
            }
        }
        return out;
    }

    /** Fields of /proc/PID/stat after the command name: [0]=state, [1]=ppid, ... [11]=utime, [12]=stime. */
    private static String[] stat(long pid) {
        return stat(Path.of("/proc", Long.toString(pid), "stat"));
    }

    /** The fields of a process's or a thread's stat file, as {@link #stat(long)}; null if it is gone. */
    private static String[] stat(Path file) {
        try {
            String s = Files.readString(file);
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (Exception e) {
            return 100;
        }
    }
}
