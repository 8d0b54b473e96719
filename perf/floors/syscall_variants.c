// What one loopback TCP send + receive costs by syscall variant (write/read, send/recv, writev/read, writev/recv),
// measured in interleaved blocks so that drift and neighbours hit every variant alike. Usage: syscall_variants [BLOCKS]
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(int argc,char**argv){
  int ls=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a={.sin_family=AF_INET,.sin_addr.s_addr=htonl(INADDR_LOOPBACK)};
  bind(ls,(void*)&a,sizeof a);socklen_t l=sizeof a;getsockname(ls,(void*)&a,&l);listen(ls,1);
  int c=socket(AF_INET,SOCK_STREAM,0);connect(c,(void*)&a,sizeof a);int s=accept(ls,0,0);
  int one=1;setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);setsockopt(s,IPPROTO_TCP,TCP_NODELAY,&one,4);
  char buf[4096];char msg[200];memset(msg,'x',sizeof msg);
  const char*names[]={"write/read","send/recv","writev/read","writev/recv"};
  double tot[4]={0};long n[4]={0};int blocks=atoi(argc>1?argv[1]:"200"),per=5000;
  for(int b=0;b<blocks;b++)for(int v=0;v<4;v++){
    double t0=now();
    for(int i=0;i<per;i++){
      struct iovec io={msg,sizeof msg};
      if(v==0)write(c,msg,sizeof msg);else if(v==1)send(c,msg,sizeof msg,MSG_NOSIGNAL);else writev(c,&io,1);
      if(v==0||v==2)read(s,buf,sizeof buf);else recv(s,buf,sizeof buf,0);
    }
    tot[v]+=now()-t0;n[v]+=per;}
  for(int v=0;v<4;v++)printf("%-12s %.0f ns per send+receive\n",names[v],tot[v]/n[v]);
}
