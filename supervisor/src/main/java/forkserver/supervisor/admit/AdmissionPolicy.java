package forkserver.supervisor.admit;

import forkserver.supervisor.base.RateLimit;

import java.nio.file.Path;
import java.util.List;

/**
 * The admission options as plain values (everything but {@code --max-children}, which the core
 * {@code Config} has).
 *
 * @param maxPerSource     children at once per source ({@link SourceLimits#UNLIMITED}: no limit)
 * @param ipv6SourcePrefix the bits of an IPv6 client's address that make its source
 * @param rate             the {@code --rate} bucket, or null
 * @param overLimit        wait in the backlog, or reject, at {@code --max-children} or the rate
 * @param rejectMessage    the line written to a rejected client with {@code --over-limit reject}
 * @param commandLineRules {@code --allow} and {@code --deny}, in the order given; before the file's
 * @param rulesFile        {@code --rules FILE}, re-read on SIGHUP, or null
 * @param defaultAction    what happens to a client no rule matches
 */
public record AdmissionPolicy(int maxPerSource, int ipv6SourcePrefix, RateLimit.Spec rate, Admission.OverLimit overLimit,
                       String rejectMessage, List<AccessRules.Rule> commandLineRules, Path rulesFile,
                       AccessRules.Action defaultAction) {

    public static final int DEFAULT_IPV6_SOURCE_PREFIX = 64;

    public AdmissionPolicy {
        commandLineRules = List.copyOf(commandLineRules);
        new SourceLimits(maxPerSource, ipv6SourcePrefix); // checks both, with the options' names
    }

    /** The rules now: the command line's, then the file's as it reads now. */
    public AccessRules loadRules() throws RuleFile.Invalid {
        AccessRules rules = new AccessRules(commandLineRules, defaultAction);
        return rulesFile == null ? rules : rules.then(RuleFile.read(rulesFile));
    }
}
