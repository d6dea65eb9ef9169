package io.ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.capture.journal.ChronicleJournal;
import io.ferry.capture.journal.Journal;
import io.ferry.volume.VolumeFile;
import io.ferry.capture.state.JournalReplay;
import io.ferry.nbd.NbdClient;
import io.ferry.testing.ChildJvm;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentCrashTest {
    @TempDir
    Path dir;

    /**
     * kill -9 of the agent after a FLUSH was answered: every write answered before that flush is
     * in the journal and in the backing file after the crash, and the restarted agent serves it.
     */
    @Test
    void shouldKeepEveryWriteAnsweredBeforeAFlushAcrossKill9() throws Exception {
        Path config = dir.resolve("agent.yaml");
        Files.writeString(config, AgentFixture.yaml(dir, AgentFixture.VOLUME_BYTES));
        Path socket = dir.resolve("agent.sock");
        int flushedBytes = 8 << 20;
        byte[] expected = new byte[flushedBytes];
        new Random(42).nextBytes(expected);

        try (ChildJvm agent = ChildJvm.start(dir.resolve("agent.log"), "io.ferry.agent.AgentMain", "--config", config.toString())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(socket) || !agent.isAlive());
            assertThat(agent.isAlive()).as("agent running; log: %s", agent.log()).isTrue();
            NbdClient client = NbdClient.connectUnix(socket, "db-data");
            try {
                for (int off = 0; off < flushedBytes; off += 256 << 10) {
                    client.write(off, java.util.Arrays.copyOfRange(expected, off, off + (256 << 10)), false);
                }
                client.flush();
                // Not flushed: may or may not survive, so it goes to another region.
                byte[] more = new byte[1 << 20];
                for (int i = 0; i < 16; i++) {
                    client.write(flushedBytes + (long) i * more.length, more, false);
                }
                agent.kill9();
            } finally {
                try {
                    client.close();
                } catch (java.io.IOException expectedAfterKill) {
                    // the agent is gone: DISC cannot be sent
                }
            }
        }

        byte[] backing = new byte[flushedBytes];
        try (VolumeFile file = VolumeFile.openOrCreate(dir.resolve("db-data.img"), AgentFixture.VOLUME_BYTES)) {
            file.read(0, ByteBuffer.wrap(backing));
        }
        assertThat(backing).as("backing file after kill -9").isEqualTo(expected);

        Path replayed = dir.resolve("replayed.img");
        try (Journal journal = ChronicleJournal.open(dir.resolve("agent-data/journal/db"), "db");
             VolumeFile replayData = VolumeFile.openOrCreate(replayed, AgentFixture.VOLUME_BYTES);
             VolumeFile replayLog = VolumeFile.openOrCreate(dir.resolve("replayed-log.img"), AgentFixture.VOLUME_BYTES)) {
            assertThat(journal.lastSeq()).isGreaterThanOrEqualTo(32);
            JournalReplay.replay(journal, 1, journal.lastSeq(), Map.of("db-data", replayData, "db-log", replayLog));
            byte[] fromJournal = new byte[flushedBytes];
            replayData.read(0, ByteBuffer.wrap(fromJournal));
            assertThat(fromJournal).as("journal replay after kill -9").isEqualTo(expected);
        }

        try (AgentNode restarted = AgentNode.launch(AgentFixture.config(dir));
             NbdClient client = NbdClient.connect(restarted.nbdAddress(), "db-data")) {
            assertThat(client.read(0, 1 << 20)).isEqualTo(java.util.Arrays.copyOf(expected, 1 << 20));
        }
    }
}
