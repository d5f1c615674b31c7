package dev.keyswap.bench.jmh;

import dev.keyswap.pipeline.RequestTargetValidator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Request-target validation ({@link RequestTargetValidator#rejectReason}), run by RequestGuard on
 * every request head before anything else looks at the path.
 *
 * <p><b>Budget: under 200 ns per request.</b> Out of nginx's ~28 µs CPU per proxied request on
 * this 2-core machine, which Keyswap must beat with auth and metering on, this step is a single
 * pass over a ~30–100 character string with no allocation on the accept path: anything near a
 * microsecond would mean it allocates or rescans, and it should be noise next to the token check
 * (&lt; 2 µs) and header rewrite (&lt; 2 µs).
 *
 * <p>Targets are held in non-final fields so the JIT cannot constant-fold them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(1)
public class RequestTargetBenchmark {
    /** The OpenAI SDK's chat call through Keyswap. */
    private String shortChat;
    /** A Gemini streaming call with its query (alt=sse), as the Google Gen AI SDK sends it. */
    private String longGeminiWithQuery;

    @Setup
    public void setUp() {
        shortChat = new String("/openai/v1/chat/completions");
        longGeminiWithQuery = new String(
                "/gemini/v1beta/models/gemini-2.5-flash-preview-05-20:streamGenerateContent?alt=sse&%24fields=candidates%2CusageMetadata");
        if (RequestTargetValidator.rejectReason(shortChat) != null
                || RequestTargetValidator.rejectReason(longGeminiWithQuery) != null) {
            throw new IllegalStateException("fixture target rejected");
        }
    }

    @Benchmark
    public String shortChatPath() {
        return RequestTargetValidator.rejectReason(shortChat);
    }

    @Benchmark
    public String longGeminiPathWithQuery() {
        return RequestTargetValidator.rejectReason(longGeminiWithQuery);
    }
}
