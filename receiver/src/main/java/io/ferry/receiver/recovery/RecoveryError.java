package io.ferry.receiver.recovery;

/**
 * Why a promote or a drill was refused: a stable code (scripts branch on it; the API sends it as
 * {@code error}) and the kind of refusal, which the API layer turns into an HTTP status.
 */
public enum RecoveryError {
    /** No agent owns a group of that name on this receiver. */
    UNKNOWN_GROUP("unknown_group", Kind.NOT_FOUND),
    /** The group keeps no recovery point of that id. */
    UNKNOWN_POINT("unknown_point", Kind.NOT_FOUND),
    /** The point is older than the undo log reaches. */
    POINT_EXPIRED("point_expired", Kind.CONFLICT),
    /** Promote of a group promoted already. */
    ALREADY_PROMOTED("already_promoted", Kind.CONFLICT),
    /** Drill of a promoted group. */
    PROMOTED("promoted", Kind.CONFLICT),
    /** The group's journal or applier failed. */
    GROUP_FAILED("group_failed", Kind.CONFLICT),
    /** The receiver has no NBD listener to export volumes on. */
    NO_NBD_LISTENER("no_nbd_listener", Kind.CONFLICT),
    /** The group never attached volumes: nothing to promote or drill. */
    NO_VOLUMES("no_volumes", Kind.CONFLICT),
    /** A drill runs already. */
    DRILL_RUNNING("drill_running", Kind.CONFLICT),
    /** The group cannot start a drill now (e.g. still replaying after a restart). */
    DRILL_REFUSED("drill_refused", Kind.CONFLICT),
    /** Stop of a drill that does not run. */
    NO_DRILL("no_drill", Kind.CONFLICT),
    /** A promote to latest waited too long for the journal or the applier; it may be retried. */
    APPLY_TIMEOUT("apply_timeout", Kind.UNAVAILABLE),
    /** The replicas are not a consistent copy yet: the group's first sync has not ended. */
    NOT_CONSISTENT("not_consistent", Kind.CONFLICT);

    /** What kind of refusal: the API maps NOT_FOUND to 404, CONFLICT to 409, UNAVAILABLE to 503. */
    public enum Kind {
        /** The thing named does not exist. */
        NOT_FOUND,
        /** The request is valid but not in the group's current state. */
        CONFLICT,
        /** The receiver cannot do it now; retrying later may work. */
        UNAVAILABLE
    }

    private final String code;
    private final Kind kind;

    RecoveryError(String code, Kind kind) {
        this.code = code;
        this.kind = kind;
    }

    /** The stable code, e.g. {@code point_expired}. */
    public String code() {
        return code;
    }

    public Kind kind() {
        return kind;
    }
}
