package dev.herd.runtime.process;

/**
 * The guest's host and domain names once it has set them. Herd gives each run its own view, as a
 * UTS namespace would: sethostname and setdomainname change what this process's uname reports and
 * never the host's names; until then uname reports the host's.
 */
public final class UtsNames {
    /** __NEW_UTS_LEN: a name is at most 64 bytes (uname's fields are 65 with the NUL). */
    public static final int MAX_LEN = 64;

    private volatile byte[] hostname, domainname;

    public byte[] hostname() { return hostname; }
    public byte[] domainname() { return domainname; }
    public void hostname(byte[] name) { hostname = name.clone(); }
    public void domainname(byte[] name) { domainname = name.clone(); }
}
