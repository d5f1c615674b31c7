package dev.keyswap.route;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The providers reachable as {@code /{provider}/…}: the built-in catalog, overridden and extended by config. */
public final class ProviderCatalog {

    /** Built-in base URLs and slots (SPEC §1). Azure OpenAI has no default host: it is per deployment. */
    public static final Map<String, Builtin> BUILTINS = builtins();

    /** First path segments that are Keyswap's own and can never be provider names. */
    public static final Set<String> RESERVED = Set.of("api", "admin", "healthz", "readyz", "metrics", "mcp", "proxy");

    public record Builtin(String baseUrl, CredentialSlot slot) {
    }

    private final Map<String, Provider> providers;

    public ProviderCatalog(Map<String, Provider> providers) {
        this.providers = Map.copyOf(providers);
    }

    public Provider find(String name) {
        return providers.get(name);
    }

    public Map<String, Provider> all() {
        return providers;
    }

    private static Map<String, Builtin> builtins() {
        Map<String, Builtin> m = new LinkedHashMap<>();
        m.put("openai", new Builtin("https://api.openai.com", CredentialSlot.BEARER));
        m.put("anthropic", new Builtin("https://api.anthropic.com", CredentialSlot.X_API_KEY));
        m.put("gemini", new Builtin("https://generativelanguage.googleapis.com", CredentialSlot.X_GOOG_API_KEY));
        m.put("groq", new Builtin("https://api.groq.com", CredentialSlot.BEARER));
        m.put("mistral", new Builtin("https://api.mistral.ai", CredentialSlot.BEARER));
        m.put("openrouter", new Builtin("https://openrouter.ai/api", CredentialSlot.BEARER));
        m.put("deepseek", new Builtin("https://api.deepseek.com", CredentialSlot.BEARER));
        m.put("xai", new Builtin("https://api.x.ai", CredentialSlot.BEARER));
        m.put("together", new Builtin("https://api.together.xyz", CredentialSlot.BEARER));
        m.put("azure-openai", new Builtin(null, CredentialSlot.API_KEY));
        return Map.copyOf(m);
    }
}
