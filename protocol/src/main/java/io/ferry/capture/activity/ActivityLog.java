package io.ferry.capture.activity;

import io.ferry.daemon.PrivateFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.agrona.collections.Long2LongHashMap;

/**
 * The activity log of one consistency group (DRBD's AL): the {@value #EXTENT_BYTES}-byte
 * extents of its volumes that may hold writes not yet durable on the primary. A write to an
 * extent that is not in the log first puts it there and syncs the log; only then does the write
 * reach the journal or the volume file. An extent leaves the log only once every write to it was
 * synced (a FLUSH, a FUA, or a sync the log forces itself when all its slots hold such writes).
 *
 * <p>After a crash of the host, the writes since the last sync may be lost from the primary's
 * volume files while the receiver already holds them, or be on the volume while the journal lost
 * them before they were shipped. Either way they lie in the extents the log lists, so resyncing
 * those extents (by checksum: most of them are the same on both sides) makes the replica converge
 * on what the primary holds after the crash. A crash of the agent process alone loses nothing
 * (the page cache survives it), so the log also records the boot it was written in, and only a
 * log from another boot asks for that resync.
 *
 * <h2>File</h2>
 * {@code <dataDir>/activity/<group>.al}, mode 0600: a {@value #HEADER_BYTES}-byte header (magic,
 * format, extent size, slot count, the boot id it was last opened in, group name), then one
 * 8-byte slot per extent: 0 for none, else {@code (volume + 1) << 48 | extent index}. Adding an
 * extent writes its slot and calls {@code fdatasync}; an 8-byte slot never straddles a sector, so
 * a torn write cannot leave half a slot.
 *
 * <p>Memory and disk are bounded by the slot count, never by the volumes' size or the write rate.
 *
 * <p>Threads: {@link #touch} and {@link #close} on the group's pipeline thread; {@link #synced}
 * from the sync thread; the getters from any thread.
 */
public final class ActivityLog implements AutoCloseable {
    /** Bytes of volume one slot covers (DRBD's AL extent). */
    public static final long EXTENT_BYTES = 4L << 20;
    /** Slots by default: 4 GiB of hot volume before the log evicts anything. */
    public static final int DEFAULT_SLOTS = 1024;
    static final int HEADER_BYTES = 4096;
    static final long MAGIC = 0x314c4159_52524546L; // "FERRYAL1" little-endian
    static final int FORMAT = 1;
    static final String SUFFIX = ".al";
    private static final int BOOT_ID_BYTES = 64;
    private static final long VOLUME_SHIFT = 48;

    /** Where the log forces a sync of the group's journal, map and volume files when every slot is busy. */
    @FunctionalInterface
    public interface SyncAll {
        void syncNow() throws IOException;
    }

    /** An extent found in the log at open: volume index and byte range. */
    public record Extent(int volume, long offset, long length) {
    }

    private final Path file;
    private final String group;
    private final FileChannel channel;
    private final long[] slotKey;
    /** The write count at the last write into each slot's extent. */
    private final long[] slotLastWrite;
    /** Key to slot index + 1 (0: absent, the map's missing value). */
    private final Long2LongHashMap slotOf = new Long2LongHashMap(0);
    private final List<Extent> foundAtOpen;
    private final boolean otherBoot;
    private final ByteBuffer slotBuffer = ByteBuffer.allocateDirect(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private SyncAll syncAll;
    private long writes;
    private volatile long syncedWrites;
    private volatile long transactions;
    private volatile int used;

    private ActivityLog(Path file, String group, FileChannel channel, long[] slotKey, List<Extent> foundAtOpen,
            boolean otherBoot) {
        this.file = file;
        this.group = group;
        this.channel = channel;
        this.slotKey = slotKey;
        this.slotLastWrite = new long[slotKey.length];
        this.foundAtOpen = List.copyOf(foundAtOpen);
        this.otherBoot = otherBoot;
        int count = 0;
        for (int i = 0; i < slotKey.length; i++) {
            if (slotKey[i] != 0) {
                slotOf.put(slotKey[i], i + 1);
                // found at open: whether it was synced is unknown, so it stays until the next sync
                slotLastWrite[i] = 1;
                count++;
            }
        }
        this.writes = count == 0 ? 0 : 1;
        this.used = count;
    }

    /** {@code <dir>/<group>.al}. */
    public static Path path(Path dir, String group) {
        return dir.resolve(group + SUFFIX);
    }

    /**
     * Opens (or creates) the log of {@code group} in {@code dir} with {@code slots} slots, in the
     * boot {@code bootId}. Its extents stay as they were found (see {@link #foundAtOpen}) until
     * {@link #reset}.
     *
     * @throws IOException naming the file when it is not a valid log of the group
     */
    public static ActivityLog open(Path dir, String group, int slots, String bootId) throws IOException {
        if (slots < 1) {
            throw new IllegalArgumentException("an activity log needs at least one slot");
        }
        PrivateFiles.directories(dir);
        Path file = path(dir, group);
        boolean exists = Files.exists(file);
        FileChannel channel = exists
                ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.CREATE_NEW), PrivateFiles.fileAttribute());
        try {
            PrivateFiles.restrict(file);
            long[] keys = new long[slots];
            List<Extent> found = new ArrayList<>();
            boolean otherBoot = false;
            if (exists && channel.size() > 0) {
                String previousBoot = readHeader(file, channel, group);
                ByteBuffer all = ByteBuffer.allocate((int) Math.min(channel.size() - HEADER_BYTES, (long) slots * 8))
                        .order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, all, HEADER_BYTES);
                all.flip();
                int stored = all.remaining() / 8;
                List<Long> keep = new ArrayList<>();
                for (int i = 0; i < stored; i++) {
                    long key = all.getLong();
                    if (key != 0) {
                        keep.add(key);
                        found.add(new Extent((int) (key >>> VOLUME_SHIFT) - 1, (key & ((1L << VOLUME_SHIFT) - 1))
                                * EXTENT_BYTES, EXTENT_BYTES));
                    }
                }
                otherBoot = !found.isEmpty() && !previousBoot.equals(bootId);
                if (keep.size() > slots) {
                    // fewer slots than the file had: every extent found stays listed until reset
                    keys = new long[keep.size()];
                }
                for (int i = 0; i < keep.size(); i++) {
                    keys[i] = keep.get(i);
                }
            }
            ActivityLog log = new ActivityLog(file, group, channel, keys, found, otherBoot);
            log.writeHeader(bootId, keys.length);
            if (!exists || channel.size() < HEADER_BYTES + (long) keys.length * 8) {
                log.writeAllSlots();
            }
            channel.force(true);
            return log;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static String readHeader(Path file, FileChannel channel, String group) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, header, 0);
        header.flip();
        if (header.remaining() < HEADER_BYTES || header.getLong(0) != MAGIC) {
            throw new IOException("activity log " + file + " is not an activity log (bad magic); move it away to"
                    + " start with an empty one");
        }
        if (header.getInt(8) != FORMAT) {
            throw new IOException("activity log " + file + " has format " + header.getInt(8) + ", not " + FORMAT);
        }
        if (header.getLong(12) != EXTENT_BYTES) {
            throw new IOException("activity log " + file + " has extents of " + header.getLong(12) + " bytes, not "
                    + EXTENT_BYTES);
        }
        String boot = string(header, 24, BOOT_ID_BYTES);
        String owner = string(header, 24 + BOOT_ID_BYTES, 256);
        if (!owner.equals(group)) {
            throw new IOException("activity log " + file + " belongs to group '" + owner + "', not '" + group + "'");
        }
        return boot;
    }

    private static String string(ByteBuffer header, int at, int max) {
        int length = Math.min(header.getShort(at) & 0xffff, max - 2);
        byte[] bytes = new byte[length];
        header.get(at + 2, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void put(ByteBuffer header, int at, int max, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > max - 2) {
            throw new IllegalArgumentException("'" + value + "' is too long for an activity log header");
        }
        header.putShort(at, (short) bytes.length);
        header.put(at + 2, bytes);
    }

    private void writeHeader(String bootId, int slots) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(0, MAGIC).putInt(8, FORMAT).putLong(12, EXTENT_BYTES).putInt(20, slots);
        put(header, 24, BOOT_ID_BYTES, bootId);
        put(header, 24 + BOOT_ID_BYTES, 256, group);
        writeFully(header, 0);
    }

    private void writeAllSlots() throws IOException {
        ByteBuffer all = ByteBuffer.allocate(slotKey.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long key : slotKey) {
            all.putLong(key);
        }
        all.flip();
        writeFully(all, HEADER_BYTES);
    }

    /** The host's boot id ({@code /proc/sys/kernel/random/boot_id}), or "unknown" where there is none. */
    public static String currentBootId() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException | UnsupportedOperationException e) {
            return "unknown";
        }
    }

    /** Where the log forces a sync when every slot holds unsynced writes; set before the first write. */
    public void syncAll(SyncAll sync) {
        this.syncAll = sync;
    }

    /**
     * The extents the log listed when it was opened after the host restarted (a host crash may
     * have lost writes in them); empty when it was opened in the same boot or found empty.
     */
    public List<Extent> hostCrashExtents() {
        return otherBoot ? foundAtOpen : List.of();
    }

    /** Every extent the log listed at open, whatever the boot. */
    public List<Extent> foundAtOpen() {
        return foundAtOpen;
    }

    /**
     * Empties the log (the extents found at open are resynced or were never at risk): every slot
     * is written 0 and synced. Call before the first write.
     */
    public void reset() throws IOException {
        java.util.Arrays.fill(slotKey, 0);
        java.util.Arrays.fill(slotLastWrite, 0);
        slotOf.clear();
        used = 0;
        writeAllSlots();
        channel.force(false);
        transactions++;
    }

    /**
     * Pipeline thread, before a write of {@code [offset, offset + length)} of volume {@code v}
     * reaches the journal or the file: every extent it touches is in the log, durable. Returns
     * the write's number (see {@link #synced}).
     */
    public long touch(int v, long offset, long length) throws IOException {
        long write = ++writes;
        long first = offset / EXTENT_BYTES;
        long last = (offset + Math.max(length, 1) - 1) / EXTENT_BYTES;
        boolean added = false;
        for (long extent = first; extent <= last; extent++) {
            long key = ((long) (v + 1) << VOLUME_SHIFT) | extent;
            long slot = slotOf.get(key);
            if (slot != 0) {
                slotLastWrite[(int) slot - 1] = write;
                continue;
            }
            int free = freeSlot();
            if (slotKey[free] != 0) {
                slotOf.remove(slotKey[free]);
            } else {
                used++;
            }
            slotKey[free] = key;
            slotLastWrite[free] = write;
            slotOf.put(key, free + 1);
            slotBuffer.clear();
            slotBuffer.putLong(0, key);
            writeFully(slotBuffer, HEADER_BYTES + (long) free * 8);
            added = true;
        }
        if (added) {
            channel.force(false);
            transactions++;
        }
        return write;
    }

    /**
     * An empty slot, else the slot whose extent was written longest ago among those whose writes
     * are all synced; when there is none, a sync is forced first.
     */
    private int freeSlot() throws IOException {
        int best = -1;
        for (int pass = 0; pass < 2; pass++) {
            long synced = syncedWrites;
            for (int i = 0; i < slotKey.length; i++) {
                if (slotKey[i] == 0) {
                    return i;
                }
                if (slotLastWrite[i] <= synced && (best < 0 || slotLastWrite[i] < slotLastWrite[best])) {
                    best = i;
                }
            }
            if (best >= 0) {
                return best;
            }
            if (syncAll == null) {
                throw new IllegalStateException("activity log of group " + group + " is full and cannot sync");
            }
            long upTo = writes;
            syncAll.syncNow();
            synced(upTo);
        }
        throw new IllegalStateException("activity log of group " + group + " found no slot after a sync");
    }

    /** Every write numbered up to {@code write} is durable on the primary (its extent may leave the log). */
    public void synced(long write) {
        if (write > syncedWrites) {
            syncedWrites = write;
        }
    }

    /** The number of the last write known durable on the primary. */
    public long syncedWrites() {
        return syncedWrites;
    }

    /** The number of the last write touched (pipeline thread). */
    public long writes() {
        return writes;
    }

    /** Extents listed now. */
    public int usedSlots() {
        return used;
    }

    public int slots() {
        return slotKey.length;
    }

    /** Syncs of the log so far (each a new extent, or a reset). */
    public long transactions() {
        return transactions;
    }

    public Path file() {
        return file;
    }

    /**
     * Closes the log; when every write touched is synced (a clean shutdown), it is emptied first,
     * so the next start has nothing to resync.
     */
    @Override
    public void close() throws IOException {
        try {
            if (writes <= syncedWrites && used > 0) {
                reset();
            }
        } finally {
            channel.close();
        }
    }

    /** Closes the file as a crash would, leaving every slot as it is (tests). */
    void closeAsCrashed() throws IOException {
        channel.close();
    }

    private void writeFully(ByteBuffer buffer, long at) throws IOException {
        long position = at;
        while (buffer.hasRemaining()) {
            position += channel.write(buffer, position);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long at) throws IOException {
        long position = at;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position);
            if (n < 0) {
                break;
            }
            position += n;
        }
    }

    @Override
    public String toString() {
        return "activity log " + file;
    }
}
