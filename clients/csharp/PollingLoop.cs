// AsyncRequestReply from C#, as UiPath's sample does it: no automatic redirects, the token on
// every request, poll the status URL until it redirects to the output.
//
// The loop compares the status with HttpStatusCode.Redirect (302), so the tenant needs
// `redirectStatus: 302`: on jobgate's default 303 it would poll forever.
//
// Build and run (Mono): mcs -r:System.Net.Http.dll PollingLoop.cs && mono PollingLoop.exe
// Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body, e.g.
// {"seconds": 2, "$callMode": "AsyncRequestReply"}).
using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Tasks;

class PollingLoop
{
    static void Main()
    {
        Console.WriteLine(Run().GetAwaiter().GetResult());
    }

    static async Task<string> Run()
    {
        string url = Environment.GetEnvironmentVariable("TRIGGER_URL");
        string token = Environment.GetEnvironmentVariable("TOKEN");
        string body = Environment.GetEnvironmentVariable("ARGS");

        // An HttpClient that does not follow redirects and sends the bearer token on each call.
        var httpClient = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        httpClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var start = await httpClient.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
        if (start.StatusCode != HttpStatusCode.Accepted)
            throw new Exception("Could not invoke workflow: " + (int)start.StatusCode + " " + await start.Content.ReadAsStringAsync());
        var statusUri = start.Headers.Location;
        while (true)
        {
            var polling = await httpClient.GetAsync(statusUri);
            if (polling.StatusCode == HttpStatusCode.Redirect)
            {
                var output = await httpClient.GetAsync(polling.Headers.Location);
                return await output.Content.ReadAsStringAsync();
            }
            await Task.Delay(1000);
        }
    }
}
