package dev.keyswap.pipeline;

import java.util.SplittableRandom;

/** Bodies framed in chunks at random, for the readers' differential tests. */
final class RandomChunks {
    private RandomChunks() {
    }

    /**
     * {@code body} in chunks of 1 to {@code maxChunk} bytes, a quarter of them with an extension,
     * then the last chunk with an {@code X-Trailer} field of {@code trailerValue} (none when null):
     * the chunked framing of RFC 9112 section 7.1.
     */
    static String of(String body, SplittableRandom random, int maxChunk, String trailerValue) {
        StringBuilder chunks = new StringBuilder();
        int at = 0;
        while (at < body.length()) {
            int n = Math.min(body.length() - at, random.nextInt(1, maxChunk + 1));
            chunks.append(Integer.toHexString(n)).append(random.nextInt(4) == 0 ? ";ext=" + random.nextInt(9) : "").append("\r\n")
                    .append(body, at, at + n).append("\r\n");
            at += n;
        }
        chunks.append("0\r\n");
        if (trailerValue != null) {
            chunks.append("X-Trailer: ").append(trailerValue).append("\r\n");
        }
        return chunks.append("\r\n").toString();
    }
}
