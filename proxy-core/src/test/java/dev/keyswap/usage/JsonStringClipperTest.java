package dev.keyswap.usage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class JsonStringClipperTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void clippedLongStringsStayValidJsonAndArePrefixesOfTheOriginal() throws Exception {
        // Escapes, 2-, 3- and 4-byte characters and a surrogate-pair escape: the cut must land
        // between characters, never inside one, wherever the 1 KiB mark falls.
        String pattern = "\\\"q\\\" \\u00e9 \\ud83d\\ude00 \u00e9\u4e2d\ud83d\ude00 \\n";
        for (int pad = 0; pad < 64; pad++) {
            String original = "a".repeat(pad) + pattern.repeat(100);
            String json = "{\"" + original + "\":\"" + original + "\",\"short\":\"kept \\\" whole\",\"n\":1}";
            byte[] in = json.getBytes(UTF_8);
            byte[] out = new byte[in.length];
            JsonStringClipper clipper = new JsonStringClipper();
            int written = 0;
            for (int i = 0; i < in.length; i += 7) { // and in pieces, as it arrives
                byte[] piece = new byte[in.length];
                int n = clipper.clip(in, i, Math.min(i + 7, in.length), piece);
                System.arraycopy(piece, 0, out, written, n);
                written += n;
            }
            JsonNode clipped = MAPPER.readTree(new String(out, 0, written, UTF_8));
            String expectedWhole = MAPPER.readTree(json).properties().iterator().next().getValue().asText();
            String key = clipped.fieldNames().next();
            String value = clipped.get(key).asText();
            assertTrue(value.length() < expectedWhole.length(), "pad " + pad);
            assertTrue(expectedWhole.startsWith(value), "pad " + pad);
            assertTrue(expectedWhole.startsWith(key), "pad " + pad);
            assertTrue(written - 2 * JsonStringClipper.MAX_STRING_BYTES < 100, "pad " + pad);
            assertEquals("kept \" whole", clipped.get("short").asText());
            assertEquals(1, clipped.get("n").asInt());
        }
    }
}
