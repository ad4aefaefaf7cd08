# escape=`
FROM `
  mcr.microsoft.com/windows/servercore:ltsc2022
RUN echo `
  hi
FROM localhost:5000/a/b@sha256:2222222222222222222222222222222222222222222222222222222222222222
