package forkserver.supervisor.admit;

import forkserver.supervisor.base.UnixPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Address blocks, first-match rules with their variables, and the rules file's errors. */
class AccessRulesTest {

    private static InetAddress ip(String text) {
        return InetAddress.ofLiteral(text);
    }

    @Test
    void blocksMatchTheirAddressesOnly() {
        assertTrue(Cidr.parse("10.0.0.0/8").contains(ip("10.200.3.4")));
        assertFalse(Cidr.parse("10.0.0.0/8").contains(ip("11.0.0.1")));
        assertTrue(Cidr.parse("127.0.0.1").contains(ip("127.0.0.1")));
        assertFalse(Cidr.parse("127.0.0.1").contains(ip("127.0.0.2")));
        assertTrue(Cidr.parse("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assertFalse(Cidr.parse("2001:db8::/32").contains(ip("2001:db9::1")));
        assertFalse(Cidr.parse("0.0.0.0/0").contains(ip("::1")), "an IPv4 block never holds an IPv6 client");
        assertTrue(Cidr.parse("10.1.2.0/23").contains(ip("10.1.3.255")));
    }

    @Test
    void ipv4MappedBlocksAndClientsMatchAsIpv4() {
        // A rule written in IPv4-mapped form is the IPv4 block it means...
        assertEquals("10.0.0.0/8", Cidr.parse("::ffff:10.0.0.0/104").toString());
        assertTrue(Cidr.parse("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
        // ...and a dual-stack socket's IPv4 client, ::ffff:10.9.9.9, is decoded as 10.9.9.9.
        assertTrue(Cidr.parse("10.0.0.0/8").contains(ip("::ffff:10.9.9.9")));
    }

    @Test
    void badBlocksSayWhy() {
        assertTrue(message(() -> Cidr.parse("10.0.0.1/8")).contains("host bits set; the block is 10.0.0.0/8"));
        assertTrue(message(() -> Cidr.parse("10.0.0.0/33")).contains("must be from 0 to 32"));
        assertTrue(message(() -> Cidr.parse("example.com")).contains("expected an address or block"));
        assertTrue(message(() -> Cidr.parse("10")).contains("expected an address or block"));
        assertTrue(message(() -> Cidr.parse("::ffff:10.0.0.0/8")).contains("must be from 96 to 128"));
    }

    @Test
    void theFirstMatchWinsWithItsVariablesElseTheDefault() {
        AccessRules rules = new AccessRules(List.of(
                AccessRules.parse(AccessRules.Action.DENY, "127.0.0.2", "--deny"),
                AccessRules.parse(AccessRules.Action.ALLOW, "127.0.0.0/8 FOO=bar LEVEL=2", "--allow")),
                AccessRules.Action.DENY);
        assertFalse(rules.decide(ip("127.0.0.2")).allowed());
        AccessRules.Decision local = rules.decide(ip("127.0.0.1"));
        assertTrue(local.allowed());
        assertEquals(Map.of("FOO", "bar", "LEVEL", "2"), local.environment());
        assertFalse(rules.decide(ip("192.0.2.1")).allowed(), "the default policy");
        assertTrue(AccessRules.allowAll().decide(ip("192.0.2.1")).allowed());
    }

    @Test
    void unixClientsMatchByUserOrGroupAndNeverByAddress() {
        AccessRules rules = new AccessRules(List.of(
                AccessRules.parse(AccessRules.Action.DENY, "gid:33", "--deny"),
                AccessRules.parse(AccessRules.Action.ALLOW, "uid:1000 ROLE=app", "--allow"),
                AccessRules.parse(AccessRules.Action.ALLOW, "uid:root", "--allow"),
                AccessRules.parse(AccessRules.Action.ALLOW, "0.0.0.0/0", "--allow")),
                AccessRules.Action.DENY);
        assertEquals(Map.of("ROLE", "app"), rules.decide(new UnixPeer(7, 1000, 1000, "/s")).environment());
        assertTrue(rules.decide(new UnixPeer(7, 1000, 1000, "/s")).allowed());
        assertFalse(rules.decide(new UnixPeer(7, 1000, 33, "/s")).allowed(), "gid:33 comes first");
        assertTrue(rules.decide(new UnixPeer(7, 0, 0, "/s")).allowed(), "uid:root is looked up: 0");
        assertFalse(rules.decide(new UnixPeer(7, 1001, 1001, "/s")).allowed(), "no block holds a UNIX client");
        assertTrue(rules.decide(ip("192.0.2.1")).allowed(), "no uid: rule holds a TCP client");
        assertTrue(message(() -> Clients.parse("uid:")).contains("expected a user after 'uid:'"));
        assertTrue(message(() -> Clients.parse("gid:no-such-group-here")).contains("no such group"));
    }

    @Test
    void theRulesFileHasCommentsAndBlankLines(@TempDir Path dir) throws Exception {
        Path file = write(dir, """
                # who may connect
                deny 2001:db8::/32      # documentation addresses

                allow 127.0.0.1 FOO=bar
                """);
        List<AccessRules.Rule> rules = RuleFile.read(file);
        assertEquals(2, rules.size());
        assertEquals("rules:2", rules.get(0).origin());
        assertEquals(Map.of("FOO", "bar"), rules.get(1).environment());
    }

    @Test
    void aBrokenRulesFileNamesItsLine(@TempDir Path dir) throws Exception {
        assertInvalid(dir, "allow 127.0.0.1\npermit 10.0.0.0/8\n", "line 2: expected 'allow' or 'deny'");
        assertInvalid(dir, "deny 10.0.0.0/8 FOO=bar\n", "line 1: a deny rule starts no child");
        assertInvalid(dir, "allow 10.0.0.0/8 FOO\n", "line 1: expected NAME=VALUE");
        assertInvalid(dir, "\n\nallow\n", "line 3: expected an address or block");
        RuleFile.Invalid missing = assertThrows(RuleFile.Invalid.class, () -> RuleFile.read(dir.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("cannot open: No such file or directory"), missing.getMessage());
    }

    /**
     * No byte of a rules file reaches the log: a failure names the line and what was expected,
     * never what the line says (a file named by mistake may hold a secret).
     */
    @Test
    void aBrokenRulesFileNeverRepeatsItsContent(@TempDir Path dir) throws Exception {
        for (String secret : List.of("TOPSECRET-1", "allow TOPSECRET-2", "allow 10.9.9.300 TOPSECRET-3",
                "allow 10.9.9.1/99", "allow 10.9.9.1/8", "allow 10.9.9.0/24 TOPSECRET-4", "deny 10.9.9.0/24 TOPSECRET=5")) {
            Path file = write(dir, secret + "\n");
            RuleFile.Invalid invalid = assertThrows(RuleFile.Invalid.class, () -> RuleFile.read(file));
            String reason = invalid.getMessage().substring(file.toString().length());
            assertTrue(reason.startsWith(" line 1: expected") || reason.startsWith(" line 1: a deny rule"), reason);
            assertFalse(reason.contains("TOPSECRET") || reason.contains("300") || reason.contains("99")
                    || reason.contains("10.9"), "the file's bytes in " + reason);
        }
    }

    /** Only a regular file is read, without blocking, bounded, as UTF-8 text; one line says why not. */
    @Test
    void onlyASmallRegularFileOfTextIsRead(@TempDir Path dir) throws Exception {
        assertUnreadable(Path.of("/dev/zero"), "not a regular file");
        assertUnreadable(dir, "not a regular file");
        Path fifo = dir.resolve("fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor());
        // Opening a FIFO nobody writes to blocks for ever without O_NONBLOCK: this would hang.
        assertUnreadable(fifo, "not a regular file");
        Path large = Files.write(dir.resolve("large"), new byte[RuleFile.MAX_BYTES + 1]);
        assertUnreadable(large, "larger than 1024 KiB");
        Path binary = Files.write(dir.resolve("binary"), new byte[] {'a', (byte) 0xff, '\n'});
        assertUnreadable(binary, "not UTF-8 text");
        Path target = write(dir, "allow 127.0.0.1\n");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        assertEquals(1, RuleFile.read(link).size(), "a link to a rules file is followed");
    }

    private static void assertUnreadable(Path file, String reason) {
        RuleFile.Invalid invalid = assertThrows(RuleFile.Invalid.class, () -> RuleFile.read(file));
        assertEquals(file + ": " + reason, invalid.getMessage());
    }

    private static void assertInvalid(Path dir, String text, String expected) throws IOException {
        Path file = write(dir, text);
        RuleFile.Invalid invalid = assertThrows(RuleFile.Invalid.class, () -> RuleFile.read(file));
        assertTrue(invalid.getMessage().contains(expected), invalid.getMessage());
    }

    private static Path write(Path dir, String text) throws IOException {
        return Files.writeString(dir.resolve("rules"), text);
    }

    private static String message(Runnable parse) {
        return assertThrows(IllegalArgumentException.class, parse::run).getMessage();
    }
}
