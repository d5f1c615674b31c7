package dev.keyswap.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keyswap.route.CredentialSlot;
import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shipped config/keyswap.yaml is the documentation of every key and its default: it must
 * load with an empty environment, yield exactly the built-in defaults, and mention every key
 * the loader knows (as must docs/configuration.md).
 */
class ConfigFileTest {
    private static final Path ROOT = repositoryRoot();
    private static final Path CONFIG = ROOT.resolve("config/keyswap.yaml");

    @Test
    void shippedConfigLoadsWithAnEmptyEnvironment() {
        Settings s = ConfigLoader.load(CONFIG, true, Map.of());
        assertEquals("127.0.0.1", s.server().host());
        assertEquals(8787, s.server().port());
        assertEquals("jdbc:sqlite:data/keyswap.db", s.storageUrl());
        assertEquals(Path.of("data/master.key"), s.masterKeyFile());
        assertNull(s.masterKey());
        assertNull(s.adminToken());
        assertEquals(Duration.ofSeconds(5), s.tokenCacheTtl());
        assertEquals(Duration.ofSeconds(1), s.negativeCacheTtl());
        assertEquals(Duration.ofSeconds(30), s.drainTimeout());
        assertEquals(Set.of(), s.server().corsAllowedOrigins());
    }

    @Test
    void shippedConfigYieldsExactlyTheBuiltInDefaults() {
        Settings file = ConfigLoader.load(CONFIG, true, Map.of());
        Settings builtIn = ConfigLoader.load(null, false, Map.of());
        assertEquals(builtIn.server(), file.server());
        assertEquals(builtIn.upstream(), file.upstream());
        assertEquals(builtIn.storageUrl(), file.storageUrl());
        assertEquals(builtIn.masterKey(), file.masterKey());
        assertEquals(builtIn.masterKeyFile(), file.masterKeyFile());
        assertEquals(builtIn.adminToken(), file.adminToken());
        assertEquals(builtIn.tokenCacheTtl(), file.tokenCacheTtl());
        assertEquals(builtIn.negativeCacheTtl(), file.negativeCacheTtl());
        assertEquals(builtIn.drainTimeout(), file.drainTimeout());
        assertEquals(builtIn.usageQueueCapacity(), file.usageQueueCapacity());
        assertEquals(builtIn.usageBatchSize(), file.usageBatchSize());
        assertEquals(builtIn.usageFlushInterval(), file.usageFlushInterval());
        assertEquals(builtIn.catalog().all(), file.catalog().all());
    }

    @Test
    void shippedConfigRoutesEveryBuiltInProviderWithoutServerKeysByDefault() {
        ProviderCatalog catalog = ConfigLoader.load(CONFIG, true, Map.of()).catalog();
        for (Map.Entry<String, ProviderCatalog.Builtin> b : ProviderCatalog.BUILTINS.entrySet()) {
            Provider p = catalog.find(b.getKey());
            if (b.getValue().baseUrl() == null) {
                assertNull(p, b.getKey() + " has no default host, so it is routed only once configured");
                continue;
            }
            assertEquals(b.getValue().slot(), p.slot(), b.getKey());
            assertNull(p.serverKey(), b.getKey() + " must have no server key when its variable is unset");
        }
    }

    @Test
    void serverKeysComeFromEachProvidersEnvironmentVariable() {
        Map<String, String> env = Map.of(
                "OPENAI_API_KEY", "sk-openai", "ANTHROPIC_API_KEY", "sk-ant", "GEMINI_API_KEY", "gem",
                "GROQ_API_KEY", "gsk", "MISTRAL_API_KEY", "mis", "OPENROUTER_API_KEY", "or",
                "DEEPSEEK_API_KEY", "ds", "XAI_API_KEY", "xai", "TOGETHER_API_KEY", "tog",
                "AZURE_OPENAI_API_KEY", "az");
        Map<String, String> withAzure = new java.util.HashMap<>(env);
        withAzure.put("AZURE_OPENAI_BASE_URL", "https://my-resource.openai.azure.com");
        ProviderCatalog catalog = ConfigLoader.load(CONFIG, true, withAzure).catalog();
        assertEquals("sk-openai", catalog.find("openai").serverKey());
        assertEquals("sk-ant", catalog.find("anthropic").serverKey());
        assertEquals("gem", catalog.find("gemini").serverKey());
        assertEquals("gsk", catalog.find("groq").serverKey());
        assertEquals("mis", catalog.find("mistral").serverKey());
        assertEquals("or", catalog.find("openrouter").serverKey());
        assertEquals("ds", catalog.find("deepseek").serverKey());
        assertEquals("xai", catalog.find("xai").serverKey());
        assertEquals("tog", catalog.find("together").serverKey());
        assertEquals("az", catalog.find("azure-openai").serverKey());
        assertEquals("my-resource.openai.azure.com", catalog.find("azure-openai").target().host());
        assertEquals(CredentialSlot.API_KEY, catalog.find("azure-openai").slot());
    }

    @Test
    void shippedConfigSetsEveryKeyTheLoaderKnows() throws IOException {
        JsonNode tree = new ObjectMapper(new YAMLFactory()).readTree(CONFIG.toFile());
        for (String key : knownKeys()) {
            JsonNode node = tree;
            for (String part : key.split("\\.")) {
                node = part.equals("<name>") ? node.get("openai") : node.get(part);
                assertTrue(node != null, "config/keyswap.yaml does not set " + key);
            }
        }
    }

    @Test
    void configurationGuideDescribesEveryKey() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/configuration.md"));
        for (String key : knownKeys()) {
            assertTrue(doc.contains("`" + key + "`"), "docs/configuration.md does not describe `" + key + "`");
        }
    }

    /** Every dotted key of {@link KeyswapConfig}, snake_case, with {@code <name>} for a provider. */
    static List<String> knownKeys() {
        List<String> keys = new ArrayList<>();
        collect(KeyswapConfig.class, "", keys);
        return keys;
    }

    private static void collect(Class<?> type, String prefix, List<String> keys) {
        for (RecordComponent c : type.getRecordComponents()) {
            String key = prefix + snake(c.getName());
            if (c.getType().isRecord()) {
                collect(c.getType(), key + ".", keys);
            } else if (Map.class.isAssignableFrom(c.getType())) {
                Class<?> value = (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[1];
                collect(value, key + ".<name>.", keys);
            } else {
                keys.add(key);
            }
        }
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    private static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("config/keyswap.yaml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("config/keyswap.yaml not found above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
