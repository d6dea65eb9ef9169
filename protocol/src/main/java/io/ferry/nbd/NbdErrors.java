package io.ferry.nbd;

/** NBD error numbers as they travel on the wire (Linux values, per the NBD specification). */
public final class NbdErrors {
    public static final int OK = 0;
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    private NbdErrors() {
    }
}
