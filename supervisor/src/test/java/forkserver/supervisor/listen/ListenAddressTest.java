package forkserver.supervisor.listen;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code --listen}'s forms, its settings, and one clear line for each mistake. */
class ListenAddressTest {

    @Test
    void tcpUnixAndAbstractAddressesWithTheirSettings() {
        assertEquals(new ListenAddress.Tcp(new InetSocketAddress(InetAddress.ofLiteral("::1"), 9090), null),
                ListenAddress.parse("[::1]:9090"));
        assertEquals(new ListenAddress.Tcp(new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0), "public"),
                ListenAddress.parse("127.0.0.1:0,name=public"));
        assertEquals(new ListenAddress.Unix("/run/app.sock", "local", 0660, "app", "www-data"),
                ListenAddress.parse("unix:/run/app.sock,name=local,mode=0660,owner=app,group=www-data"));
        assertEquals(new ListenAddress.Unix("@forkserver", null, -1, null, null), ListenAddress.parse("unix:@forkserver"));
    }

    @Test
    void mistakesSayWhatIsWrong() {
        assertEquals("mode= must be octal permissions from 0 to 0777 (e.g. 0660), got '0999'",
                message("unix:/run/a.sock,mode=0999"));
        assertEquals("unknown listener setting 'umask' in 'unix:/a,umask=2' (name, mode, owner, group)",
                message("unix:/a,umask=2"));
        assertEquals("mode=, owner= and group= are for a unix: socket file, not '127.0.0.1:1'",
                message("127.0.0.1:1,mode=0600"));
        assertEquals("an abstract socket (unix:@x) has no file: no mode=, owner= or group=", message("unix:@x,owner=app"));
        assertEquals("expected unix:PATH or unix:@NAME, got 'unix:'", message("unix:"));
        assertEquals("expected KEY=VALUE after the address (name=, mode=, owner=, group=), got 'name' in"
                + " 'unix:/a,name'", message("unix:/a,name"));
    }

    @Test
    void modesAreTheirPermissionBits() {
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(UnixSocketFile.permissions(0660)));
        assertEquals("rwxr-x--x", java.nio.file.attribute.PosixFilePermissions.toString(UnixSocketFile.permissions(0751)));
    }

    private static String message(String text) {
        return assertThrows(IllegalArgumentException.class, () -> ListenAddress.parse(text)).getMessage();
    }
}
