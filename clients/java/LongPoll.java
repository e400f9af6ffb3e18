// LongPolling from Java 11+ with java.net.http.HttpClient, following the hops itself.
//
// HttpClient follows at most 5 redirects (jdk.httpclient.redirects.retrylimit) and then hands
// the last 303 back as if it were the answer. So send `Prefer: wait=N`: every hop then lasts
// N seconds (up to the server's --long-poll-hop-max, 10 min by default), and 5 hops cover a
// job of up to 5 × N seconds. The Authorization header is kept on the (same-origin) hops.
//
// Build and run: javac -d out LongPoll.java && java -cp out LongPoll
// Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body), WAIT (seconds per hop).
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class LongPoll {
    public static void main(String[] argv) throws Exception {
        String url = System.getenv("TRIGGER_URL");
        String token = System.getenv("TOKEN");
        String body = System.getenv("ARGS");
        String wait = System.getenv("WAIT");

        HttpClient http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .header("Prefer", "wait=" + wait)
                .timeout(Duration.ofMinutes(20))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();

        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) { // a 303 here: more hops than HttpClient follows
            System.err.println(response.statusCode() + " " + response.body()
                    + response.headers().firstValue("Location").map(l -> " Location: " + l).orElse(""));
            System.exit(1);
        }
        System.out.println(response.body());
    }
}
