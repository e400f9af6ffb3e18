// LongPolling from C#, the idiomatic way: HttpClient follows the hops itself.
//
// Needs, on the jobgate side: `requireAuthOnRedirects: false` for the tenant. HttpClient drops
// the Authorization header on every redirect, so the hop and output URLs must authorize
// themselves (they then carry a ?cap= capability for this one job).
// On the client side: HttpClient.Timeout (100 s by default) covers the whole call, redirects
// included; set it above the longest job you wait for. `Prefer: wait=N` makes every hop N
// seconds (up to the server's --long-poll-hop-max), well under any proxy's idle timeout.
//
// Build and run (Mono): mcs -r:System.Net.Http.dll AutoRedirect.cs && mono AutoRedirect.exe
// Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body), WAIT (seconds per hop).
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Tasks;

class AutoRedirect
{
    static int Main()
    {
        return Run().GetAwaiter().GetResult();
    }

    static async Task<int> Run()
    {
        string url = Environment.GetEnvironmentVariable("TRIGGER_URL");
        string token = Environment.GetEnvironmentVariable("TOKEN");
        string body = Environment.GetEnvironmentVariable("ARGS");
        string wait = Environment.GetEnvironmentVariable("WAIT");

        var handler = new HttpClientHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 50 };
        var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(20) }; // the whole call

        var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("Prefer", "wait=" + wait); // LongPolling, one hop every WAIT seconds
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");

        var response = await http.SendAsync(request);
        string answer = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine((int)response.StatusCode + " " + answer); // a problem+json
            return 1;
        }
        Console.WriteLine(answer);
        return 0;
    }
}
