package dev.herd.proxy;

/** A kernel proxy could not start; the message is one line for the user. */
public final class ProxyStartException extends RuntimeException {
    public ProxyStartException(String message) {
        super(message);
    }
}
