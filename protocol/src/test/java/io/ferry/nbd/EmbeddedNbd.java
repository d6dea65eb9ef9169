package io.ferry.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.InputStream;

/**
 * An NBD connection inside an {@link EmbeddedChannel}: the test feeds client bytes with
 * {@link #send} and reads what the server wrote through {@link #in()} (which runs pending event
 * loop tasks first and throws EOFException when the server has written nothing more).
 */
final class EmbeddedNbd implements AutoCloseable {

    final EmbeddedChannel channel;
    private final DataInputStream in;
    private final InputStream outbound;

    EmbeddedNbd(NbdExports exports, int maxPayloadBytes) {
        channel = new EmbeddedChannel(new NbdHandshakeHandler(exports, maxPayloadBytes));
        outbound = new OutboundStream();
        in = new DataInputStream(outbound);
    }

    void send(byte[]... parts) {
        channel.writeInbound(Unpooled.wrappedBuffer(NbdWire.concat(parts)));
        channel.runPendingTasks();
    }

    /** Sends one byte at a time (every frame arrives split at every possible position). */
    void sendBytewise(byte[] bytes) {
        for (byte b : bytes) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        channel.runPendingTasks();
    }

    DataInputStream in() {
        return in;
    }

    /** True when the server has written nothing that the test has not read yet. */
    boolean nothingMoreWritten() {
        channel.runPendingTasks();
        try {
            return in.available() == 0;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
        ((OutboundStream) outbound).releaseCurrent();
    }

    private final class OutboundStream extends InputStream {
        private ByteBuf current;

        @Override
        public int read() throws EOFException {
            if (!fill()) {
                throw new EOFException("server wrote nothing more");
            }
            return current.readUnsignedByte();
        }

        @Override
        public int read(byte[] b, int off, int len) throws EOFException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                throw new EOFException("server wrote nothing more");
            }
            int n = Math.min(len, current.readableBytes());
            current.readBytes(b, off, n);
            return n;
        }

        @Override
        public int available() {
            return fill() ? current.readableBytes() : 0;
        }

        void releaseCurrent() {
            if (current != null) {
                current.release();
                current = null;
            }
        }

        private boolean fill() {
            while (current == null || !current.isReadable()) {
                if (current != null) {
                    current.release();
                    current = null;
                }
                channel.runPendingTasks();
                ByteBuf next = channel.readOutbound();
                if (next == null) {
                    return false;
                }
                current = next;
            }
            return true;
        }
    }
}
