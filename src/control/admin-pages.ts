/**
 * The admin listener's two human pages, each one self-contained HTML file
 * (inline CSS and script, no build step, no external asset). They hold no
 * data: the script asks for the admin token (a `#token=` fragment, never sent
 * to the server, or a prompt; kept in sessionStorage) and calls the JSON API
 * with it, like any other client.
 *
 * /dashboard refreshes every 2 s from GET /status and GET /upstreams: totals
 * (requests, req/s, 429s, cache hit ratio, open breakers), routes (requests,
 * req/s, 429s, mean latency: the shared metrics counters), targets with health
 * and breaker state, req/s, requests, failures and latency (EWMA). A rate is
 * the difference of a counter between two polls.
 */

const TOKEN_JS = `
function token(){
  const m=/(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if(m){sessionStorage.setItem("gwtoken",decodeURIComponent(m[1]));history.replaceState(null,"",location.pathname);}
  let t=sessionStorage.getItem("gwtoken");
  if(!t){t=prompt("Admin token")||"";sessionStorage.setItem("gwtoken",t);}
  return t;
}
async function api(path){
  const r=await fetch(path,{headers:{authorization:"Bearer "+token()}});
  if(r.status===401){sessionStorage.removeItem("gwtoken");if(window.timer)clearInterval(window.timer);throw new Error("wrong admin token (reload the page to enter it again)");}
  if(!r.ok)throw new Error(path+": HTTP "+r.status);
  return r.json();
}
function el(tag,attrs,...kids){const e=document.createElement(tag);for(const[k,v]of Object.entries(attrs||{}))e.setAttribute(k,v);for(const k of kids)e.append(k instanceof Node?k:document.createTextNode(String(k)));return e;}
`;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left}
th{background:#eee}.up{color:#070}.down,.open{color:#b00;font-weight:bold}.half_open{color:#a60}
.num{text-align:right;font-variant-numeric:tabular-nums}#error{color:#b00}code{background:#eee;padding:0 .2em}
.card{display:inline-block;background:#fff;border:1px solid #ddd;padding:.5em 1em;margin:0 .5em .5em 0}
.card b{display:block;font-size:1.4em}
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gateway status</title><style>${STYLE}</style></head>
<body>
<h1>gateway status <small id="version"></small></h1>
<p id="error"></p>
<div id="cards"></div>
<h2>Routes</h2>
<table id="routes"><thead><tr><th>name</th><th>path</th><th>upstream</th><th>auth</th><th>requests</th><th>req/s</th><th>rate-limited</th><th>latency ms (mean)</th></tr></thead><tbody></tbody></table>
<h2>Targets</h2>
<table id="targets"><thead><tr><th>upstream</th><th>target</th><th>health</th><th>breaker</th><th>in flight</th><th>req/s</th><th>requests</th><th>failures</th><th>latency ms (EWMA)</th></tr></thead><tbody></tbody></table>
<p><small>Refreshes every 2 s. <span id="updated"></span></small></p>
<script>
${TOKEN_JS}
let last=null;
function card(label,value,id){return el("div",{class:"card",id},el("b",{},value),label);}
function rateOf(prev,now,count){return !last||prev===undefined?null:Math.max(0,(count-prev)*1000/(now-last.at));}
function fmt(r){return r===null?"…":r.toFixed(1);}
async function refresh(){
  try{
    const [status,upstreams]=await Promise.all([api("/status"),api("/upstreams")]);
    const now=Date.now();
    document.getElementById("version").textContent=status.version;
    const rows=[],targets={};
    for(const u of upstreams)for(const t of u.targets){
      const key=u.name+" "+t.url;targets[key]=t.requests;
      const r=rateOf(last&&last.targets[key],now,t.requests);
      rows.push(el("tr",{},u.name,t.url,el("td",{class:t.health},t.health+(t.passive==="down"?" (passive down)":"")),el("td",{class:t.breaker},t.breaker),
        el("td",{class:"num"},t.in_flight),el("td",{class:"num"},fmt(r)),el("td",{class:"num"},t.requests),el("td",{class:"num"},t.failures),el("td",{class:"num"},t.latency_ewma_ms.toFixed(1))));
    }
    document.querySelector("#targets tbody").replaceChildren(...rows.map(fixCells));
    const routes={};
    document.querySelector("#routes tbody").replaceChildren(...status.routes.map(r=>{
      routes[r.name]=r.requests;
      return fixCells(el("tr",{},r.name,r.path,r.upstream??"",r.auth??"none",el("td",{class:"num"},r.requests),el("td",{class:"num"},fmt(rateOf(last&&last.routes[r.name],now,r.requests))),
        el("td",{class:"num"},r.rate_limited),el("td",{class:"num"},r.latency_ms===null?"–":r.latency_ms.toFixed(1))));
    }));
    const t=status.totals||{requests:0,rate_limited:0,cache_hits:0,cache_misses:0,cache_stale:0};
    const served=t.cache_hits+t.cache_stale,lookups=served+t.cache_misses;
    const b=status.breakers||{open:0,half_open:0};
    document.getElementById("cards").replaceChildren(
      card("requests",t.requests,"c-requests"),card("req/s",fmt(rateOf(last&&last.total,now,t.requests)),"c-rate"),
      card("rate-limited (429)",t.rate_limited,"c-limited"),
      card("cache hit ratio",lookups>0?(100*served/lookups).toFixed(1)+" %":"–","c-cache"),
      card("breakers open",b.open+(b.half_open?" (+"+b.half_open+" half-open)":""),"c-breakers"),
      card("workers",status.workers,"c-workers"),card("uptime s",status.uptime_s,"c-uptime"));
    last={at:now,targets,routes,total:t.requests};
    document.getElementById("updated").textContent="updated "+new Date(now).toLocaleTimeString();
    document.getElementById("error").textContent="";
  }catch(e){document.getElementById("error").textContent=String(e.message||e);}
}
function fixCells(tr){for(const n of [...tr.childNodes])if(n.nodeType===3)tr.replaceChild(el("td",{},n.textContent),n);return tr;}
refresh();window.timer=setInterval(refresh,2000);
</script>
</body></html>
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gateway admin API</title><style>${STYLE}
.op{background:#fff;border:1px solid #ddd;margin:.5em 0;padding:.5em 1em}.m{font-weight:bold;text-transform:uppercase;display:inline-block;width:4.5em}
pre{background:#f3f3f3;padding:.5em;overflow:auto;max-height:20em}</style></head>
<body>
<h1 id="title">gateway admin API</h1>
<p>Every endpoint needs <code>Authorization: Bearer &lt;admin.token&gt;</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<p id="error"></p>
<div id="ops"></div>
<script>
${TOKEN_JS}
api("/openapi.json").then(doc=>{
  document.getElementById("title").textContent=doc.info.title+" "+doc.info.version;
  const ops=document.getElementById("ops");
  for(const[path,item]of Object.entries(doc.paths))for(const[method,op]of Object.entries(item)){
    const box=el("div",{class:"op"},el("span",{class:"m"},method),el("code",{},path)," ",op.summary);
    for(const p of op.parameters||[])box.append(el("div",{},"parameter ",el("code",{},p.name)," (",p.in,p.required?", required":"",")"));
    const body=op.requestBody&&op.requestBody.content["application/json"];
    if(body)box.append(el("div",{},"body:"),el("pre",{},JSON.stringify(body.schema,null,2)));
    box.append(el("div",{},"answers: "+Object.entries(op.responses).map(([c,r])=>c+" "+r.description).join("; ")));
    ops.append(box);
  }
}).catch(e=>{document.getElementById("error").textContent=String(e.message||e);});
</script>
</body></html>
`;
