import java.net.InetAddress;
import java.net.ServerSocket;

/** Prints a TCP port on 127.0.0.1 that was free a moment ago (for the bench scripts). */
public class FreePort {
    public static void main(String[] args) throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            System.out.println(s.getLocalPort());
        }
    }
}
