package io.ferry.nbd;

/**
 * Wire constants of the NBD protocol (fixed newstyle negotiation, simple and structured replies),
 * as in {@code doc/proto.md} of the NetworkBlockDevice/nbd repository. All integers travel
 * big-endian.
 */
public final class NbdProtocol {

    // Handshake
    public static final long NBDMAGIC = 0x4E42444D41474943L;
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long OPTION_REPLY_MAGIC = 0x0003e889045565a9L;

    public static final int HANDSHAKE_FLAG_FIXED_NEWSTYLE = 1;
    public static final int HANDSHAKE_FLAG_NO_ZEROES = 2;
    public static final int CLIENT_FLAG_FIXED_NEWSTYLE = 1;
    public static final int CLIENT_FLAG_NO_ZEROES = 2;

    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;
    public static final int OPT_EXTENDED_HEADERS = 11;

    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_PLATFORM = 0x80000004;
    public static final int REP_ERR_TLS_REQD = 0x80000005;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    /** The only metadata context this server offers. */
    public static final String META_CONTEXT_BASE_ALLOCATION = "base:allocation";
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 2;

    // Transmission flags (u16)
    public static final int FLAG_HAS_FLAGS = 0x1;
    public static final int FLAG_READ_ONLY = 0x2;
    public static final int FLAG_SEND_FLUSH = 0x4;
    public static final int FLAG_SEND_FUA = 0x8;
    public static final int FLAG_ROTATIONAL = 0x10;
    public static final int FLAG_SEND_TRIM = 0x20;
    public static final int FLAG_SEND_WRITE_ZEROES = 0x40;
    public static final int FLAG_SEND_DF = 0x80;
    public static final int FLAG_CAN_MULTI_CONN = 0x100;
    public static final int FLAG_SEND_RESIZE = 0x200;
    public static final int FLAG_SEND_CACHE = 0x400;
    public static final int FLAG_SEND_FAST_ZERO = 0x800;

    // Requests
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int REQUEST_HEADER_BYTES = 28;

    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    public static final int CMD_FLAG_FUA = 0x1;
    public static final int CMD_FLAG_NO_HOLE = 0x2;
    public static final int CMD_FLAG_DF = 0x4;
    public static final int CMD_FLAG_REQ_ONE = 0x8;
    public static final int CMD_FLAG_FAST_ZERO = 0x10;

    // Replies
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int SIMPLE_REPLY_BYTES = 16;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    public static final int STRUCTURED_REPLY_HEADER_BYTES = 20;

    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;
    public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;

    /** Block sizes advertised in NBD_INFO_BLOCK_SIZE (the maximum is the server's payload cap). */
    public static final int MIN_BLOCK_BYTES = 1;
    public static final int PREFERRED_BLOCK_BYTES = 4096;
    /** Strings (export names, messages) are at most this long on the wire. */
    public static final int MAX_STRING_BYTES = 4096;

    private NbdProtocol() {
    }
}
