import com.sun.tools.attach.VirtualMachine;

/**
 * Loads a JVMTI agent into a running JVM: {@code java Attach.java PID AGENT_PATH OPTIONS}.
 * cpu-profile.sh uses it for async-profiler, whose comma-separated options jcmd's
 * JVMTI.agent_load would split.
 */
public class Attach {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try {
            vm.loadAgentPath(args[1], args[2]);
        } finally {
            vm.detach();
        }
    }
}
