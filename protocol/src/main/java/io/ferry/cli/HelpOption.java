package io.ferry.cli;

import picocli.CommandLine.Option;

/** {@code -h, --help}, mixed into every ferry command. */
public final class HelpOption {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;
}
