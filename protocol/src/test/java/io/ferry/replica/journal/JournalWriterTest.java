package io.ferry.replica.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalWriterTest {

    @TempDir
    Path dir;

    @Test
    void shouldReportAppendsDurableInOrderFromTheJournalWorker() throws Exception {
        AtomicInteger syncs = new AtomicInteger();
        List<String> durable = new CopyOnWriteArrayList<>();
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", DeltaJournalTest.SMALL)) {
            JournalWriter writer = new JournalWriter(journal, 1 << 20, syncs::incrementAndGet);
            writer.start();
            for (int seq = 1; seq <= 50; seq++) {
                int s = seq;
                writer.append(body(seq), seq, seq, seq, d -> durable.add(s + "@" + Thread.currentThread().getName()));
            }
            CompletableFuture<Long> all = new CompletableFuture<>();
            writer.whenDurable(all::complete);
            assertThat(all.get(30, TimeUnit.SECONDS)).isEqualTo(50);
            writer.close();
            assertThat(writer.durableSeq()).isEqualTo(50);
            assertThat(journal.lastSeq()).isEqualTo(50);
        }
        assertThat(durable).hasSize(50).allMatch(s -> s.endsWith("@ferry-journal-g"));
        assertThat(durable.stream().map(s -> Integer.parseInt(s.substring(0, s.indexOf('@')))).toList()).isSorted();
        assertThat(syncs.get()).isBetween(1, 50);
    }

    @Test
    void shouldWriteEverythingHandedOverBeforeCloseAndRefuseAppendsAfterIt() throws Exception {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", DeltaJournalTest.SMALL)) {
            JournalWriter writer = new JournalWriter(journal, 1 << 20, () -> { });
            writer.start();
            for (int seq = 1; seq <= 20; seq++) {
                writer.append(body(seq), seq, seq, seq, d -> { });
            }
            writer.close();
            assertThat(writer.durableSeq()).isEqualTo(20);
            assertThat(writer.queuedBytes()).isZero();
            ByteBuf late = body(21);
            assertThatThrownBy(() -> writer.append(late, 21, 21, 21, d -> { }))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThat(late.refCnt()).as("a refused body is released").isZero();
        }
    }

    @Test
    void shouldRefuseADeltaThatDoesNotContinueTheJournal() throws Exception {
        try (DeltaJournal journal = DeltaJournal.open(dir, "g", DeltaJournalTest.SMALL)) {
            JournalWriter writer = new JournalWriter(journal, 1 << 20, () -> { });
            writer.start();
            ByteBuf gap = body(3);
            assertThatThrownBy(() -> writer.append(gap, 3, 3, 3, d -> { }))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must start at seq 1");
            assertThat(gap.refCnt()).isZero();
            writer.close();
        }
    }

    private static ByteBuf body(int seq) {
        byte[] bytes = new byte[64 + seq];
        bytes[0] = (byte) seq;
        return Unpooled.wrappedBuffer(bytes);
    }
}
