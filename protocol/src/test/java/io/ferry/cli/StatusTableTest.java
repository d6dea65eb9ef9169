package io.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class StatusTableTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldShowASyncAsABarWithBytesRateAndEta() throws Exception {
        String status = """
                {"id": "dr-1", "groups": [
                  {"name": "db", "state": "syncing", "consistent": false,
                   "sync": {"kind": "initial", "totalBytes": 4294967296, "doneBytes": 1073741824,
                            "sentBytes": 536870912, "etaSeconds": 30.0}},
                  {"name": "web", "state": "replicating", "consistent": true, "sync": null}]}
                """;
        String table = StatusTable.render(JSON.readTree(status));
        assertThat(table).contains("db  initial sync [#######.......................] 25% 1.0 GiB of 4.0 GiB,"
                + " 512.0 MiB sent, 102.4 MiB/s, ETA 30s");
        assertThat(table).doesNotContain("web  initial").doesNotContain("web  resync");
    }

    @Test
    void shouldShowNoEtaBeforeThereIsARate() throws Exception {
        String status = """
                {"id": "host-a", "receiver": {"connected": true}, "groups": [
                  {"name": "db", "state": "syncing",
                   "sync": {"kind": "initial", "totalBytes": 1048576, "doneBytes": 0, "sentBytes": 0,
                            "etaSeconds": null}}]}
                """;
        assertThat(StatusTable.render(JSON.readTree(status)))
                .contains("db  initial sync [..............................] 0% 0 B of 1.0 MiB, 0 B sent, ETA -");
    }
}
