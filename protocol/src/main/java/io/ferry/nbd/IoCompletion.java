package io.ferry.nbd;

/**
 * Completion of one block-device request. Called exactly once, on any thread, with 0 for
 * success or one of the NBD error numbers in {@link NbdErrors} (EIO, ENOSPC, EINVAL, ...).
 */
@FunctionalInterface
public interface IoCompletion {
    void complete(int nbdErrno);
}
