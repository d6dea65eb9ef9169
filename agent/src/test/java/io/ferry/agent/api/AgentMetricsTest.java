package io.ferry.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.agent.AgentNode;
import io.ferry.agent.config.AgentConfig;
import io.ferry.api.ApiClient;
import io.ferry.api.ApiToken;
import io.ferry.nbd.NbdClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentMetricsTest {

    @TempDir
    Path dir;

    @Test
    void shouldServeTheGaugesOfBeforeAndTheWriteAndSyncHistogramsWithHelpAndType() throws Exception {
        AgentConfig config = AgentConfig.parse("""
                id: host-a
                dataDir: %1$s/agent-data
                nbd:
                  listen: 127.0.0.1:0
                api:
                  listen: 127.0.0.1:0
                groups:
                  - name: db
                    rpo: 30s
                    volumes:
                      - { name: db-data, path: %1$s/db-data.img, size: 1048576 }
                """.formatted(dir), dir);
        try (AgentNode agent = AgentNode.launch(config)) {
            try (NbdClient client = NbdClient.connect(agent.nbdAddress(), "db-data")) {
                for (int i = 0; i < 3; i++) {
                    client.write(i * 4096L, new byte[4096], false);
                }
                client.flush();
            }
            ApiClient api = new ApiClient("127.0.0.1:" + agent.apiAddress().getPort(),
                    ApiClient.readTokenFile(config.dataDir().resolve(ApiToken.FILE_NAME)));
            String text = api.getText("/metrics");
            for (String name : new String[] {"ferry_agent_receiver_connected", "ferry_agent_captured_seq",
                    "ferry_agent_acked_seq", "ferry_agent_lag_seconds", "ferry_agent_rpo_seconds",
                    "ferry_agent_journal_bytes", "ferry_agent_shipped_bytes_total", "ferry_agent_captured_bytes_total",
                    "ferry_agent_write_seconds", "ferry_agent_journal_sync_seconds", "ferry_agent_sync_total_bytes",
                    "ferry_agent_sync_done_bytes", "ferry_agent_sync_sent_bytes", "ferry_agent_verify_mismatched_bytes"}) {
                assertThat(text).contains("# HELP " + name + " ").contains("# TYPE " + name + " ");
            }
            assertThat(text).contains("ferry_agent_receiver_connected 0\n")
                    .contains("ferry_agent_captured_seq{group=\"db\"} 3\n")
                    .contains("ferry_agent_rpo_seconds{group=\"db\"} 30\n")
                    .contains("ferry_agent_sync_total_bytes{group=\"db\"} 0\n")
                    .contains("# TYPE ferry_agent_write_seconds histogram\n")
                    .contains("ferry_agent_write_seconds_count{group=\"db\"} 3\n")
                    .contains("ferry_agent_write_seconds_bucket{group=\"db\",le=\"+Inf\"} 3\n");
            assertThat(text).containsPattern("ferry_agent_journal_sync_seconds_count\\{group=\"db\"} [1-9]");

            // Prometheus's own checker (Debian package prometheus): skipped loudly without it
            io.ferry.testing.Interop.requireTools("promtool");
            Path file = Files.writeString(dir.resolve("metrics.txt"), text);
            Process check = new ProcessBuilder(io.ferry.testing.Interop.which("promtool"), "check", "metrics")
                    .redirectInput(file.toFile()).redirectErrorStream(true).start();
            String output = new String(check.getInputStream().readAllBytes());
            assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(check.exitValue()).as(output).isZero();
        }
    }
}
