package dev.keyswap.route;

/**
 * A catalog entry: a named upstream API.
 *
 * @param serverKey the operator's own key from {@code providers.<name>.api_key}, or null
 */
public record Provider(String name, UpstreamTarget target, CredentialSlot slot, String serverKey) {

    @Override
    public String toString() {
        return "Provider[" + name + " -> " + target.scheme() + "://" + target.authority() + target.basePath()
                + ", slot=" + slot + ", serverKey=" + (serverKey == null ? "none" : "****") + "]";
    }
}
