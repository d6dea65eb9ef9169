package io.ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.capture.journal.Journal;
import io.ferry.capture.journal.JournalEntry;
import io.ferry.capture.journal.JournalReader;
import io.ferry.capture.pipeline.WriteOrder;
import io.ferry.volume.VolumeFile;
import io.ferry.capture.state.JournalReplay;
import io.ferry.nbd.NbdClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentNodeTest {
    @TempDir
    Path dir;

    @Test
    void shouldReplayTheJournalFromSeqOneIntoFilesIdenticalToTheBackingFiles() throws Exception {
        try (AgentNode agent = AgentNode.launch(AgentFixture.config(dir))) {
            Random random = new Random(7);
            try (NbdClient data = NbdClient.connect(agent.nbdAddress(), "db-data");
                 NbdClient log = NbdClient.connectUnix(agent.nbdSocket(), "db-log")) {
                for (int i = 0; i < 400; i++) {
                    NbdClient target = random.nextBoolean() ? data : log;
                    long offset = (long) random.nextInt((int) (AgentFixture.VOLUME_BYTES / 512) - 256) * 512;
                    switch (random.nextInt(6)) {
                        case 0 -> target.writeZeroes(offset, 512L * (1 + random.nextInt(64)), random.nextBoolean());
                        case 1 -> target.trim(offset, 512L * (1 + random.nextInt(64)));
                        case 2 -> target.flush();
                        default -> {
                            byte[] bytes = new byte[512 * (1 + random.nextInt(128))];
                            random.nextBytes(bytes);
                            target.write(offset, bytes, random.nextInt(4) == 0);
                        }
                    }
                }
                data.flush();
            }
            AgentNode.Group group = agent.group("db");
            Journal journal = group.journal();
            long last = journal.lastSeq();
            assertThat(last).isEqualTo(group.pipeline().capturedSeq()).isGreaterThan(300);

            List<Long> seqs = new ArrayList<>();
            JournalEntry entry = new JournalEntry();
            try (JournalReader reader = journal.reader(1)) {
                while (reader.next(entry)) {
                    seqs.add(entry.seq());
                }
            }
            assertThat(seqs).hasSize((int) last);
            for (int i = 0; i < seqs.size(); i++) {
                assertThat(seqs.get(i)).isEqualTo(i + 1L);
            }

            Path blankData = dir.resolve("replay-data.img");
            Path blankLog = dir.resolve("replay-log.img");
            try (VolumeFile replayData = VolumeFile.openOrCreate(blankData, AgentFixture.VOLUME_BYTES);
                 VolumeFile replayLog = VolumeFile.openOrCreate(blankLog, AgentFixture.VOLUME_BYTES)) {
                long applied = JournalReplay.replay(journal, 1, last, Map.of("db-data", replayData, "db-log", replayLog));
                assertThat(applied).isEqualTo(last);
            }
            assertThat(Files.mismatch(blankData, dir.resolve("db-data.img"))).isEqualTo(-1L);
            assertThat(Files.mismatch(blankLog, dir.resolve("db-log.img"))).isEqualTo(-1L);
        }
    }

    /**
     * Write-order fidelity through the NBD front end: several connections over both volumes of
     * a group write one request after another; whenever a write's reply came before another
     * write was issued, the later write carries the higher seq.
     */
    @Test
    void shouldGiveAWriteIssuedAfterAnothersReplyTheHigherSeqAcrossConnections() throws Exception {
        int connections = 4;
        int perConnection = 300;
        AtomicLong replies = new AtomicLong();
        long[][] issuedAfter = new long[connections][perConnection];
        long[][] repliedAt = new long[connections][perConnection];
        try (AgentNode agent = AgentNode.launch(AgentFixture.config(dir))) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int c = 0; c < connections; c++) {
                int conn = c;
                threads.add(new Thread(() -> {
                    try (NbdClient client = NbdClient.connect(agent.nbdAddress(), conn % 2 == 0 ? "db-data" : "db-log")) {
                        for (int i = 0; i < perConnection; i++) {
                            byte[] data = Arrays.copyOf((conn + ":" + i + ";").getBytes(StandardCharsets.US_ASCII), 4096);
                            issuedAfter[conn][i] = replies.get();
                            client.write((long) (conn * perConnection + i) * 4096, data, false);
                            repliedAt[conn][i] = replies.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join(120_000);
            }
            assertThat(failures).isEmpty();

            Map<String, Long> seqByTag = new HashMap<>();
            JournalEntry entry = new JournalEntry();
            try (JournalReader reader = agent.group("db").journal().reader(1)) {
                while (reader.next(entry)) {
                    byte[] head = new byte[16];
                    entry.data().duplicate().get(head);
                    String text = new String(head, StandardCharsets.US_ASCII);
                    seqByTag.put(text.substring(0, text.indexOf(';')), entry.seq());
                }
            }
            assertThat(seqByTag).hasSize(connections * perConnection);
            WriteOrder order = new WriteOrder();
            for (int c = 0; c < connections; c++) {
                for (int i = 0; i < perConnection; i++) {
                    order.add(issuedAfter[c][i], repliedAt[c][i], seqByTag.get(c + ":" + i));
                }
            }
            assertThat(order.assertLaterWritesHaveHigherSeqs()).isGreaterThan(connections * perConnection / 2);
        }
    }

    @Test
    void shouldResumeSequencingAfterTheJournalsLastSeqOnRestart() throws Exception {
        long before;
        try (AgentNode agent = AgentNode.launch(AgentFixture.config(dir));
             NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-data")) {
            client.write(0, new byte[4096], false);
            client.write(4096, new byte[4096], false);
            before = agent.group("db").pipeline().capturedSeq();
        }
        try (AgentNode agent = AgentNode.launch(AgentFixture.config(dir));
             NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-log")) {
            assertThat(agent.group("db").journal().lastSeq()).isEqualTo(before);
            client.write(0, new byte[512], false);
            assertThat(agent.group("db").pipeline().capturedSeq()).isEqualTo(before + 1);
        }
    }
}
