package io.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.LongNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a daemon's {@code GET /v1/status} as a table for people. An agent's status has a
 * {@code receiver} object; a receiver's does not. Missing values show as {@code -}. An agent group's
 * lag is marked {@code BREACH} when it exceeds the RPO or the agent flags {@code rpoBreach}.
 */
final class StatusTable {

    static final String BREACH = "BREACH";
    private static final String NONE = "-";
    private static final String[] BYTE_UNITS = {"KiB", "MiB", "GiB", "TiB", "PiB"};

    private StatusTable() {
    }

    /** Whether {@code status} came from an agent (it reports its receiver connection). */
    static boolean isAgent(JsonNode status) {
        return status.path("receiver").isObject();
    }

    static String render(JsonNode status) {
        return isAgent(status) ? renderAgent(status) : renderReceiver(status);
    }

    private static String renderAgent(JsonNode status) {
        JsonNode receiver = status.path("receiver");
        String connection = receiver.path("connected").isBoolean()
                ? (receiver.path("connected").asBoolean() ? "connected" : "NOT CONNECTED") : "unknown";
        StringBuilder out = new StringBuilder();
        out.append("agent ").append(text(status.path("id"))).append("  receiver: ").append(connection).append('\n');
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"GROUP", "STATE", "RPO", "LAG", "CAPTURED", "ACKED", "JOURNAL"});
        for (JsonNode group : status.path("groups")) {
            JsonNode rpo = group.path("rpoSeconds");
            JsonNode lag = group.path("lagSeconds");
            String lagText = seconds(lag);
            boolean overRpo = rpo.isNumber() && lag.isNumber() && lag.asDouble() > rpo.asDouble();
            if (overRpo || group.path("rpoBreach").asBoolean(false)) {
                lagText += " " + BREACH;
            }
            rows.add(new String[] {
                text(group.path("name")),
                text(group.path("state")),
                rpo.isNumber() && rpo.asDouble() == 0 ? "0s (sync)" : seconds(rpo),
                lagText,
                text(group.path("capturedSeq")),
                text(group.path("ackedSeq")),
                bytes(group.path("journalBytes")),
            });
        }
        return out.append(table(rows)).append(syncBars(status)).toString();
    }

    private static String renderReceiver(JsonNode status) {
        StringBuilder out = new StringBuilder();
        out.append("receiver ").append(text(status.path("id"))).append('\n');
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"GROUP", "AGENT", "STATE", "LAG", "RECEIVED", "APPLIED", "RECOVERABLE", "UNDO"});
        for (JsonNode group : status.path("groups")) {
            rows.add(new String[] {
                text(group.path("name")),
                text(group.path("agent")),
                text(group.path("state")),
                seconds(group.path("lagSeconds")),
                text(group.path("receivedSeq")),
                text(group.path("appliedSeq")),
                text(group.path("oldestRecoverableSeq")),
                bytes(group.path("undoBytes")),
            });
        }
        return out.append(table(rows)).append(syncBars(status)).toString();
    }

    private static final int BAR_WIDTH = 30;

    /**
     * One line per group with a sync under way: {@code db  initial sync [#####.....] 42% 1.2 GiB of
     * 4.0 GiB, 1.0 GiB sent, 180.3 MiB/s, ETA 19s}.
     */
    static String syncBars(JsonNode status) {
        StringBuilder out = new StringBuilder();
        for (JsonNode group : status.path("groups")) {
            JsonNode sync = group.path("sync");
            if (!sync.isObject()) {
                continue;
            }
            long total = sync.path("totalBytes").asLong(0);
            long done = Math.min(total, sync.path("doneBytes").asLong(0));
            int percent = total == 0 ? 100 : (int) (done * 100 / total);
            int filled = total == 0 ? BAR_WIDTH : (int) (done * BAR_WIDTH / total);
            out.append(text(group.path("name"))).append("  ").append(text(sync.path("kind"))).append(" sync [")
                    .append("#".repeat(filled)).append(".".repeat(BAR_WIDTH - filled)).append("] ")
                    .append(percent).append("% ").append(bytes(sync.path("doneBytes"))).append(" of ")
                    .append(bytes(sync.path("totalBytes"))).append(", ").append(bytes(sync.path("sentBytes")))
                    .append(" sent");
            JsonNode eta = sync.path("etaSeconds");
            if (eta.isNumber() && eta.asDouble() > 0) {
                // the status gives the time left at the rate so far: the rate follows from it
                long rate = Math.round((total - done) / eta.asDouble());
                out.append(", ").append(bytes(new LongNode(rate))).append("/s");
            }
            out.append(", ETA ").append(eta.isNumber() ? seconds(eta) : "-").append('\n');
        }
        return out.toString();
    }

    /** Left-aligned columns two spaces apart; a note instead of an empty table. */
    private static String table(List<String[]> rows) {
        if (rows.size() == 1) {
            return "(no groups)\n";
        }
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1) {
                    line.append(" ".repeat(widths[i] - row[i].length() + 2));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    static String text(JsonNode value) {
        return value.isMissingNode() || value.isNull() ? NONE : value.asText();
    }

    /** {@code 0.4s}, {@code 30s}, {@code 2m05s}, {@code 1h02m}. */
    static String seconds(JsonNode value) {
        if (!value.isNumber()) {
            return text(value);
        }
        double seconds = value.asDouble();
        if (seconds < 10 && seconds != Math.rint(seconds)) {
            return String.format(Locale.ROOT, "%.1fs", seconds);
        }
        long whole = Math.round(seconds);
        if (whole < 60) {
            return whole + "s";
        }
        if (whole < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", whole / 60, whole % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", whole / 3600, (whole % 3600) / 60);
    }

    /** {@code 512 B}, {@code 1.5 KiB}, {@code 12.0 MiB}. */
    static String bytes(JsonNode value) {
        if (!value.isNumber()) {
            return text(value);
        }
        long bytes = value.asLong();
        if (bytes < 1024) {
            return bytes + " B";
        }
        double scaled = bytes;
        int unit = -1;
        while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
            scaled /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", scaled, BYTE_UNITS[unit]);
    }
}
