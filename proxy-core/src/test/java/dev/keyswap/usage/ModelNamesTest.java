package dev.keyswap.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ModelNamesTest {
    private static String of(String name) {
        byte[] bytes = (name + "trailing bytes past the length").getBytes(StandardCharsets.US_ASCII);
        return ModelNames.of(bytes, name.length());
    }

    @Test
    void theSameNameIsTheSameString() {
        String first = of("gpt-4o-mini-names-test");
        assertEquals("gpt-4o-mini-names-test", first);
        assertSame(first, of("gpt-4o-mini-names-test"));
    }

    @Test
    void everyAnswerSpellsItsBytesWhateverSharesItsSlot() {
        // Far more names than slots: every slot is taken over many times, and no answer is another name.
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 5_000; i++) {
                assertEquals("model-" + i, of("model-" + i));
            }
        }
        // "Aa" and "BB" have the same String hash, so they share a slot.
        assertEquals("Aa".hashCode(), "BB".hashCode());
        String aa = of("Aa");
        assertEquals("BB", of("BB"));
        String again = of("Aa");
        assertEquals("Aa", again);
        assertNotSame(aa, of("BB"), "a colliding name is a String of its own");
        assertEquals("", of(""));
    }

    @Test
    void responsesOfOneModelReportOneString() {
        String body = "{\"model\":\"gpt-4o-mini-2024-07-18\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
        String[] models = new String[2];
        for (int i = 0; i < models.length; i++) {
            UsageExtractor x = UsageExtractor.forContentType("application/json");
            ByteBuf buf = Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII);
            try {
                x.onContent(buf);
            } finally {
                buf.release();
            }
            models[i] = x.result().model();
        }
        assertEquals("gpt-4o-mini-2024-07-18", models[0]);
        assertSame(models[0], models[1]);
    }
}
