package forkserver.supervisor.spawn;

import forkserver.supervisor.base.Failures.SpawnFailed;
import forkserver.supervisor.base.Reason;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The range's allocator: a uid per live holder, and one given again only once nothing runs as it. */
class ChildUsersTest {

    // What /proc would say: the uids processes run as now.
    private final Set<Integer> running = new HashSet<>();
    private int readings;

    private ChildUsers users(int first, int last) {
        return new ChildUsers(new ChildUsers.Range(first, last), () -> {
            readings++;
            return Set.copyOf(running);
        });
    }

    @Test
    void liveHoldersNeverShareAUidAndAFullRangeIsRefusedByItsReason() throws SpawnFailed {
        ChildUsers users = users(1000, 1002);
        Set<Integer> taken = new HashSet<>(List.of(users.take(), users.take(), users.take()));
        assertEquals(Set.of(1000, 1001, 1002), taken);
        SpawnFailed full = assertThrows(SpawnFailed.class, users::take);
        assertEquals(Reason.CHILD_USER_RANGE.text, full.reason());
        assertEquals("every uid of --child-user-range 1000-1002 is held by a child or by what one left running",
                full.getMessage());
        users.release(1001, true);
        assertEquals(1001, users.take());
        assertEquals(0, readings, "uids whose boxes were removed need no look at /proc");
    }

    @Test
    void aUidJustGivenBackIsTheLastToBeGivenAgain() throws SpawnFailed {
        ChildUsers users = users(1, 4);
        int first = users.take();
        users.release(first, true);
        assertNotEquals(first, users.take());
        assertNotEquals(first, users.take());
        assertNotEquals(first, users.take());
        assertEquals(first, users.take());
    }

    @Test
    void aUidGivenBackWithoutABoxWaitsUntilNoProcessRunsAsIt() throws SpawnFailed {
        ChildUsers users = users(500, 500);
        int uid = users.take();
        running.add(uid); // its holder left a process running
        users.release(uid, false);
        assertThrows(SpawnFailed.class, users::take);
        assertEquals(1, readings);
        running.remove(uid);
        assertEquals(uid, users.take());
        users.release(uid, true);
        assertEquals(uid, users.take());
        assertEquals(2, readings, "verified once, then trusted again");
    }

    @Test
    void withoutProcNoUnverifiedUidIsGivenAgain() throws SpawnFailed {
        ChildUsers users = new ChildUsers(new ChildUsers.Range(7, 7), () -> null);
        users.release(users.take(), false);
        assertThrows(SpawnFailed.class, users::take);
    }

    @Test
    void aHugeRangeIsNotWalkedWholeNorRememberedWhole() throws SpawnFailed {
        ChildUsers users = users(100_000, 2_000_000_000);
        running.add(100_001); // one leftover lives on
        for (int i = 0; i < 1000; i++) {
            users.release(users.take(), false);
        }
        assertEquals(0, users.held());
        assertEquals(1000 / ChildUsers.UNVERIFIED_KEPT, readings, "one reading of /proc per " + ChildUsers.UNVERIFIED_KEPT);
        assertTrue(users.unverified() < ChildUsers.UNVERIFIED_KEPT);
    }

    @Test
    void rangesAreParsedAndCheckedInOneLine() {
        assertEquals(new ChildUsers.Range(200000, 200999), ChildUsers.Range.parse("200000-200999"));
        assertEquals(1000, ChildUsers.Range.parse("200000-200999").size());
        assertEquals("FIRST 10 is above LAST 5", message("10-5"));
        assertEquals("the range 0-9 includes uid 0 (root)", message("0-9"));
        assertEquals("expected FIRST-LAST (e.g. 200000-200999), got '1000'", message("1000"));
        assertEquals("expected FIRST-LAST (e.g. 200000-200999), got '-5-9'", message("-5-9"));
        assertEquals("expected FIRST-LAST, two uids from 0 to 2147483646, got '1-4294967295'", message("1-4294967295"));
        assertEquals("expected FIRST-LAST, two uids from 0 to 2147483646, got 'a-b'", message("a-b"));
    }

    private static String message(String range) {
        return assertThrows(IllegalArgumentException.class, () -> ChildUsers.Range.parse(range)).getMessage();
    }

    @Test
    void theStepRunsTheCommandAsTheUidAndItsGidWithNothingElse() {
        assertEquals(List.of(ChildUsers.SETPRIV, "--reuid=200001", "--regid=200001", "--clear-groups", "--inh-caps=-all",
                "--", "/bin/cat", "-u"), ChildUsers.step(200001, List.of("/bin/cat", "-u")));
    }
}
