package dev.keyswap.pipeline;

import dev.keyswap.connect.ConnectionDirectory;
import dev.keyswap.connect.KeyPool;
import dev.keyswap.route.ProviderCatalog;

/** Makes the key-swap step of each listener; the resolver behind them is shared. */
public final class KeySwapStep {
    private final CredentialResolver resolver;

    public KeySwapStep(ConnectionDirectory connections, ProviderCatalog catalog, KeyPool keyPool) {
        this.resolver = new CredentialResolver(connections, catalog, keyPool);
    }

    public CredentialStep newStep(boolean inboundTls) {
        return new CredentialStep(resolver, inboundTls);
    }
}
