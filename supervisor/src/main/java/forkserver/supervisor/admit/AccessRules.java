package forkserver.supervisor.admit;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Who may connect: rules in order, the first whose block holds the client's address (for a
 * UNIX-domain client: whose {@code uid:}/{@code gid:} is its user's or group's) decides, else the
 * default policy. An allow rule may set environment variables for its children
 * ({@code allow 127.0.0.1 FOO=bar}), as tcpserver's rules database does.
 *
 * <p>Immutable: a reload builds a new one and swaps it in whole.
 */
public final class AccessRules {

    public enum Action { ALLOW, DENY }

    /**
     * One rule.
     *
     * @param origin where it was written, for the log: {@code --deny} or {@code rules.txt:3}
     */
    public record Rule(Action action, Clients clients, Map<String, String> environment, String origin) {

        public Rule {
            environment = Map.copyOf(environment);
        }
    }

    /** What a rule decided for one client; {@code rule} is null when the default policy did. */
    record Decision(boolean allowed, Map<String, String> environment, Rule rule) {
    }

    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final List<Rule> rules;
    private final Action defaultAction;

    AccessRules(List<Rule> rules, Action defaultAction) {
        this.rules = List.copyOf(rules);
        this.defaultAction = defaultAction;
    }

    /** No rules, everyone allowed. */
    public static AccessRules allowAll() {
        return new AccessRules(List.of(), Action.ALLOW);
    }

    Decision decide(InetAddress client) {
        for (Rule rule : rules) {
            if (rule.clients().contains(client)) {
                return decision(rule);
            }
        }
        return new Decision(defaultAction == Action.ALLOW, Map.of(), null);
    }

    /** As for a TCP client, by the UNIX-domain client's user and group ({@code uid:}, {@code gid:} rules). */
    Decision decide(forkserver.supervisor.base.UnixPeer client) {
        for (Rule rule : rules) {
            if (rule.clients().contains(client)) {
                return decision(rule);
            }
        }
        return new Decision(defaultAction == Action.ALLOW, Map.of(), null);
    }

    private static Decision decision(Rule rule) {
        return new Decision(rule.action() == Action.ALLOW, rule.environment(), rule);
    }

    public int size() {
        return rules.size();
    }

    /** These rules followed by {@code more}, with the same default. */
    AccessRules then(List<Rule> more) {
        List<Rule> all = new java.util.ArrayList<>(rules);
        all.addAll(more);
        return new AccessRules(all, defaultAction);
    }

    /**
     * Parses {@code BLOCK [NAME=VALUE ...]} (the words after {@code allow} or {@code deny}).
     *
     * @throws BadRule with a reason fit for one line
     */
    public static Rule parse(Action action, String text, String origin) {
        String[] words = text.trim().split("\\s+");
        if (words.length == 0 || words[0].isEmpty()) {
            String expected = "expected an address or block after '" + name(action) + "'";
            throw new BadRule(expected, expected);
        }
        Clients block = Clients.parse(words[0]);
        Map<String, String> environment = new LinkedHashMap<>();
        for (int i = 1; i < words.length; i++) {
            int equals = words[i].indexOf('=');
            String variable = equals < 0 ? words[i] : words[i].substring(0, equals);
            if (equals < 0 || !VARIABLE.matcher(variable).matches()) {
                throw new BadRule("expected NAME=VALUE after the block, got '" + words[i] + "'",
                        "expected NAME=VALUE after the block");
            }
            if (action == Action.DENY) {
                throw new BadRule("a deny rule starts no child, so it sets no variable ('" + words[i] + "')",
                        "a deny rule starts no child, so it sets no variable");
            }
            environment.put(variable, words[i].substring(equals + 1));
        }
        return new Rule(action, block, environment, origin);
    }

    static String name(Action action) {
        return action.name().toLowerCase(java.util.Locale.ROOT);
    }
}
